import Dispatch

/// A task executor on a serial dispatch queue of its own, outside Swift's cooperative pool. Tests
/// that time async code run it here: on a 2-core machine the pool has 2 threads, and parallel tests
/// that block them (synchronous tests run on the pool) would otherwise hold the code under test
/// back for seconds.
public final class QueueTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    public init(label: String = "heartbeat-test-executor") {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
