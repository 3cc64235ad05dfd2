import Atomics

/// What the storage side did with accepted rows. Every row the drain accepts ends in exactly one
/// of: stored, spooled (then stored later: counted again under `rowsReplayed`, or dead-lettered
/// from the spool), dead-lettered (refused by PostgreSQL for its content), dropped because the
/// spool was full (`spool_full`) or could not be written (`spool_error`), discarded on purpose
/// (`--sink none`), or not kept as a raw event (`--raw-events runs|none`).
public final class StorageMetrics: Sendable {
    /// Rows committed to `heartbeat_event` straight from the drain.
    public let rowsStored = ManagedAtomic<UInt64>(0)
    /// Rows written to the spool because PostgreSQL could not take them.
    public let rowsSpooled = ManagedAtomic<UInt64>(0)
    /// Rows committed later from the spool.
    public let rowsReplayed = ManagedAtomic<UInt64>(0)
    /// Rows dropped because PostgreSQL was down and the spool full (`spool_full`).
    public let rowsDroppedSpoolFull = ManagedAtomic<UInt64>(0)
    /// Rows dropped because writing them to the spool failed (disk full, I/O error).
    public let rowsDroppedSpoolError = ManagedAtomic<UInt64>(0)
    /// Rows dropped for storage because the writers and the spill thread were all busy
    /// (`storage_busy`): storage fell behind the input. Their arrivals reached liveness.
    public let rowsDroppedStorageBusy = ManagedAtomic<UInt64>(0)
    /// Rows lost with a spool file that failed its checksum.
    public let rowsDroppedSpoolCorrupt = ManagedAtomic<UInt64>(0)
    /// Rows of a batch that PostgreSQL refused for their content, isolated by bisection and written
    /// to the dead-letter file (the rest of their batch is stored).
    public let rowsDeadLettered = ManagedAtomic<UInt64>(0)
    /// The same for rows replayed from the spool (already counted under `rowsSpooled`).
    public let rowsDeadLetteredFromSpool = ManagedAtomic<UInt64>(0)
    /// Batches handed to the spill thread because the writers' queue was full (PostgreSQL slower
    /// than the input, or stalled); their rows are in `rowsSpooled` and are replayed like any
    /// spooled batch.
    public let batchesSpilledOnStall = ManagedAtomic<UInt64>(0)
    /// Accepted rows not handed to the sink because `--raw-events` does not keep them (their
    /// records reached liveness and rollups).
    public let rawEventsSkipped = ManagedAtomic<UInt64>(0)
    /// Rows thrown away on purpose (`--sink none`).
    public let rowsDiscarded = ManagedAtomic<UInt64>(0)
    /// The drain's accepted rows and refusals by transport.
    public let transports = DrainTransportCounts()
    /// Records refused by the drain's anti-replay check.
    public let recordsReplayRejected = ManagedAtomic<UInt64>(0)
    /// Records refused by the drain because their application was over its budget (`rate_limited`).
    public let recordsRateLimited = ManagedAtomic<UInt64>(0)
    /// Records of a new instance refused because its application (or the collector) holds the most
    /// anti-replay windows allowed (`instance_limit`).
    public let recordsInstanceLimited = ManagedAtomic<UInt64>(0)
    /// Anti-replay windows held (one per live (application, instance)).
    public let replayWindows = ManagedAtomic<Int>(0)
    /// Accepted rows the monitor's feed had no room for (the monitor then reads the last-seen
    /// table before convicting; no record is lost from storage).
    public let monitorEventsDropped = ManagedAtomic<UInt64>(0)
    /// Non-beat rows the Redis hot state could not take (its ring was full): the other
    /// collectors miss that record's kind (its arrival still reaches them as a last-seen time).
    public let sharedEventsDropped = ManagedAtomic<UInt64>(0)
    /// Records that passed every check (accepted = queued by receivers − replays − rate limited).
    public let recordsAccepted = ManagedAtomic<UInt64>(0)
    /// Receive time of the first accepted row (Unix µs; 0 before any).
    public let firstAcceptedReceivedMicros = ManagedAtomic<Int64>(0)
    /// When the latest COPY committed (Unix µs; 0 before any).
    public let lastCommitMicros = ManagedAtomic<Int64>(0)
    /// Time each COPY took.
    public let flushSeconds = LatencyHistogram()
    /// Receive → commit latency per row (per batch, spread evenly between its newest and oldest row).
    public let commitLatencySeconds = LatencyHistogram(
        bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2, 5, 10, 30])

    public init() {}
}
