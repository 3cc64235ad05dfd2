import Foundation
import ThreadSafety

/// Publishes each transition this collector recorded on the Redis channel `heartbeat:transitions`
/// (the JSON of `Spec/notifications.md`), from its own thread and connection so the monitor never waits
/// on Redis. Publications queue while Redis is unreachable, up to ``queueLimit``; beyond it they
/// are dropped and counted. Pub/sub delivers only to subscribers connected at that moment: durable
/// notification is the webhook outbox's job.
final class TransitionPublisher: @unchecked Sendable {
    static let queueLimit = 100_000

    private let url: String
    /// `<prefix>:transitions`.
    let channel: String
    private let metrics: HotStateMetrics
    private let queue = Locked([String]())
    let worker = WorkerThread()

    init(url: String, keyPrefix: String, metrics: HotStateMetrics) {
        self.url = url
        self.channel = keyPrefix + ":transitions"
        self.metrics = metrics
    }

    /// Queues `payloads` for publication (any thread; never blocks on Redis).
    func publish(_ payloads: [String]) {
        let dropped = queue.withLock { queue -> Int in
            let room = max(0, Self.queueLimit - queue.count)
            queue.append(contentsOf: payloads.prefix(room))
            return payloads.count - min(room, payloads.count)
        }
        if dropped > 0 { metrics.publicationsDropped.wrappingIncrement(by: UInt64(dropped), ordering: .relaxed) }
    }

    /// Publishes what is queued; when stopped, publishes what is left (if Redis answers) first.
    func run() {
        var connection: RedisConnection?
        var stopping = false
        while !stopping {
            stopping = worker.isStopRequested
            let batch = queue.withLock { queue -> [String] in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            if batch.isEmpty {
                if !stopping { usleep(20_000) }
                continue
            }
            do throws(RedisError) {
                if connection == nil { connection = try RedisConnection(url: url) }
                for payload in batch { try connection!.append(["PUBLISH", channel, payload]) }
                for _ in batch { _ = try connection!.readReply() }
                metrics.transitionsPublished.wrappingIncrement(by: UInt64(batch.count), ordering: .relaxed)
            } catch {
                // Put the batch back in front (it was published in part at most) and retry later.
                connection = nil
                queue.withLock { queue in queue.insert(contentsOf: batch, at: 0) }
                if stopping { break }
                usleep(250_000)
            }
        }
    }
}

extension TransitionPublisher: ThreadedService {
    var threadName: String { "heartbeat-publisher" }
    var serviceName: String { "transition publisher" }
}
