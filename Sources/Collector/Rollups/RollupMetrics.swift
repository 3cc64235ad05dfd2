import Atomics

/// What rollups counted and wrote. Every accepted record is either counted into a rollup
/// (`recordsCounted`) or refused by a full table (`recordsUncounted`); every counted record is
/// then written (`recordsWritten`), still held in memory, or lost at a stop with PostgreSQL down
/// (`recordsLost`).
public final class RollupMetrics: Sendable {
    /// Records counted into the drain's tables.
    public let recordsCounted = ManagedAtomic<UInt64>(0)
    /// Records of a new key that a table at its largest could not take.
    public let recordsUncounted = ManagedAtomic<UInt64>(0)
    /// Records whose rollup rows were committed.
    public let recordsWritten = ManagedAtomic<UInt64>(0)
    /// Records whose rollups could not be written before the collector stopped.
    public let recordsLost = ManagedAtomic<UInt64>(0)
    /// `heartbeat_rollup_minute` rows committed.
    public let rowsWritten = ManagedAtomic<UInt64>(0)
    /// COPYs that failed (each retried).
    public let writeFailures = ManagedAtomic<UInt64>(0)
    /// When the latest rollup COPY committed (Unix µs; 0 before any).
    public let lastWriteMicros = ManagedAtomic<Int64>(0)
    /// Days of daily rollups this collector derived (a failed derivation fails its maintenance run,
    /// counted there).
    public let daysDerived = ManagedAtomic<UInt64>(0)

    public init() {}
}
