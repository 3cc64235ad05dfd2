import Foundation

/// A service whose work is one loop on a thread of its own (``WorkerThread``): it names the thread
/// and provides the loop, and starts and stops like every other one — ``stop()`` asks the loop to
/// end and returns once it has (what the loop owes, it finishes before returning).
protocol ThreadedService: CollectorService {
    var worker: WorkerThread { get }
    /// The thread's name, `heartbeat-…` (the kernel's shows `hb-…`).
    var threadName: String { get }
    /// The thread's scheduling class.
    var threadQuality: QualityOfService { get }
    /// The loop: it returns soon after `worker.isStopRequested` turns true.
    func run()
}

extension ThreadedService {
    var threadQuality: QualityOfService { .default }

    func start() {
        worker.start(name: threadName, qualityOfService: threadQuality) { [self] in run() }
    }

    func stop() {
        worker.stop()
    }
}
