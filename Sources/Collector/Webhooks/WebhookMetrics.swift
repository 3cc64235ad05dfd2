import Atomics

/// What webhook delivery did (totals since start), and the outbox's depth as last seen.
public final class WebhookMetrics: Sendable {
    /// POSTs answered with 2xx.
    public let delivered = ManagedAtomic<UInt64>(0)
    /// Attempts that failed (transport error or non-2xx); each is retried with backoff.
    public let failedAttempts = ManagedAtomic<UInt64>(0)
    /// Deliveries given up after the last attempt.
    public let abandoned = ManagedAtomic<UInt64>(0)
    /// Rows still owed (not delivered, not abandoned), counted by the last poll.
    public let queueDepth = ManagedAtomic<Int64>(0)
    /// Failed round trips to PostgreSQL (retried).
    public let databaseFailures = ManagedAtomic<UInt64>(0)

    public init() {}
}
