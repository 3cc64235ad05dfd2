import Atomics
import ThreadSafety

/// What notification delivery did in this collector (totals since start, and per channel), and
/// the outbox's depth as last seen.
public final class NotificationMetrics: Sendable {
    /// Messages a channel took (2xx, or SMTP accepted).
    public let delivered = ManagedAtomic<UInt64>(0)
    /// Attempts that failed (transport error, non-2xx, SMTP refusal); each is retried with backoff.
    public let failedAttempts = ManagedAtomic<UInt64>(0)
    /// Deliveries given up after the last attempt.
    public let abandoned = ManagedAtomic<UInt64>(0)
    /// Deliveries with nothing to send (a kind that ignores the event, as PagerDuty ignores `late`).
    public let skipped = ManagedAtomic<UInt64>(0)
    /// Deliveries still owed (not delivered, not abandoned), counted by the last poll.
    public let queueDepth = ManagedAtomic<Int64>(0)
    /// Failed round trips to PostgreSQL (retried).
    public let databaseFailures = ManagedAtomic<UInt64>(0)
    /// Closed notifications deleted after the retention.
    public let notificationsExpired = ManagedAtomic<UInt64>(0)
    /// Reminders this collector queued (`Reminders`), each for every channel that takes it.
    public let remindersQueued = ManagedAtomic<UInt64>(0)
    /// Notifications held by a silence that this collector released (sent once the silence
    /// ended, the application still not up) or dropped (it had recovered, or a later one replaced it).
    public let heldReleased = ManagedAtomic<UInt64>(0)
    public let heldDropped = ManagedAtomic<UInt64>(0)
    /// Self-pings (`--self-ping-url`) by outcome.
    public let selfPingsSent = ManagedAtomic<UInt64>(0)
    public let selfPingsFailed = ManagedAtomic<UInt64>(0)
    private let channels = Locked([Int: ChannelOutcomes]())

    public init() {}

    /// One channel's outcomes in this collector.
    public struct ChannelOutcomes: Sendable, Equatable {
        public var name: String
        public var kind: String
        public var delivered: UInt64 = 0
        public var failed: UInt64 = 0
        public var abandoned: UInt64 = 0
        public var lastError: String?
    }

    /// Adds one batch's outcomes for `channel`.
    func record(_ channel: NotificationChannel, delivered: Int, failed: Int, abandoned: Int, lastError: String?) {
        self.delivered.wrappingIncrement(by: UInt64(delivered), ordering: .relaxed)
        failedAttempts.wrappingIncrement(by: UInt64(failed), ordering: .relaxed)
        self.abandoned.wrappingIncrement(by: UInt64(abandoned), ordering: .relaxed)
        channels.withLock { channels in
            var outcome = channels[channel.id] ?? ChannelOutcomes(name: channel.name, kind: channel.kind)
            outcome.name = channel.name
            outcome.delivered += UInt64(delivered)
            outcome.failed += UInt64(failed)
            outcome.abandoned += UInt64(abandoned)
            if let lastError { outcome.lastError = lastError }
            channels[channel.id] = outcome
        }
    }

    /// Every channel this collector has sent to, by id.
    public var perChannel: [Int: ChannelOutcomes] { channels.withLock { $0 } }
}
