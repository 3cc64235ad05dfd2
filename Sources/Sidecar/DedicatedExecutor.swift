import Foundation
import NIOCore
import NIOPosix

/// The task executor of the sidecar's async code: NIO's own event-loop threads (the ones that read
/// and write the sockets), not Swift's global cooperative pool. A job enqueued from a loop thread
/// runs on that loop (no hop); one enqueued from elsewhere goes to the next loop in turn, so the
/// handlers of many connections spread over every loop. Two reasons: any code
/// that blocks a pool thread — another library, or a test harness running blocking tests — would
/// otherwise leave `/healthz` unanswered; and a handler that runs on the loop of its connection
/// answers without a hop to another thread (each hop costs a context switch, which dominated the
/// latency of cached reads here). Handlers never block: database work goes to ``DatabaseWork``.
final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    /// On NIO's process-wide group: for async work that belongs to no one server (the read
    /// cache's shared queries). Each ``SidecarServer`` runs on an executor over its own group.
    static let shared = DedicatedExecutor()

    private let group: any EventLoopGroup

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        loop.execute { [self] in unowned.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
