import Foundation

/// A task executor with threads of its own, for the sidecar's async code. Without it the HTTP
/// handlers would run on Swift's global cooperative pool (one thread per core), where any code
/// that blocks a pool thread — another library, or a test harness running blocking tests — would
/// leave `/healthz` unanswered. Jobs run in order of arrival on whichever of the threads is free.
final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    /// Starts `threads` threads named `name` that run jobs for as long as the process lives.
    init(threads: Int, name: String) {
        for index in 0..<threads {
            let thread = Thread { [self] in runJobs() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
