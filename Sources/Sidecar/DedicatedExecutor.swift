import Foundation
import NIOCore
import NIOPosix

/// The task executor of the sidecar's async code: one of NIO's own event-loop threads (the ones
/// that read and write the sockets), not Swift's global cooperative pool. Two reasons: any code
/// that blocks a pool thread — another library, or a test harness running blocking tests — would
/// otherwise leave `/healthz` unanswered; and a handler that runs on the loop of its connection
/// answers without a hop to another thread (each hop costs a context switch, which dominated the
/// latency of cached reads here). Handlers never block: database work goes to ``DatabaseWork``.
final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    /// The one every sidecar in the process uses.
    static let shared = DedicatedExecutor()

    private let loop: any EventLoop

    init(loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        loop.execute { [self] in unowned.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
