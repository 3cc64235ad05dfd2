import Atomics
import Foundation

/// One named thread that runs a loop until asked to stop, and the way to stop it and wait for it.
///
/// Every long-running part of the collector (receivers, drain, monitor, registry follower,
/// auto-registrar, partition maintenance) is one of these: the loop checks ``isStopRequested``
/// between units of work, and ``stop()`` returns only once the loop has returned, so shutdown can
/// run in order. `start` and `stop` are called by the owner, from one thread.
final class WorkerThread: @unchecked Sendable {
    private let stopRequested = ManagedAtomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Whether the thread was started and not yet stopped (owner thread only).
    private var running = false

    /// Whether ``stop()`` was called; the loop ends its work and returns when it sees this.
    var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Starts `body` on a new thread called `name`.
    func start(name: String, qualityOfService: QualityOfService = .default, _ body: @escaping @Sendable () -> Void) {
        precondition(!running, "\(name) was started twice")
        running = true
        let thread = Thread { [finished] in
            body()
            finished.signal()
        }
        thread.name = name
        thread.qualityOfService = qualityOfService
        thread.start()
    }

    /// Asks the loop to stop and waits until it has returned. Does nothing if it never started or
    /// already stopped.
    func stop() {
        guard running else { return }
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
        running = false
    }
}
