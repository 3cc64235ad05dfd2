import Protocol

/// A moment's totals of the whole ingest path, summed over receivers.
///
/// Invariants (exact once the collector is drained, approximate while records are in flight):
/// `recordsReceived == recordsAccepted + Σ rejected`, and
/// `recordsAccepted == rowsStored + rowsSpooled + rowsDeadLettered + rowsDroppedSpoolFull + rowsDroppedSpoolError
/// + rowsDroppedStorageBusy + rowsDiscarded + rowsNotKeptRaw`.
public struct IngestStatistics: Sendable, CustomStringConvertible, Encodable {
    public var recordsReceived: UInt64 = 0
    public var recordsAccepted: UInt64 = 0
    /// Rejected records by reason (the drain's replays included).
    public var rejected: [RejectionReason: UInt64] = [:]
    public var rowsStored: UInt64 = 0
    public var rowsSpooled: UInt64 = 0
    public var rowsReplayedFromSpool: UInt64 = 0
    public var rowsDroppedSpoolFull: UInt64 = 0
    public var rowsDroppedSpoolCorrupt: UInt64 = 0
    /// Rows dropped because the spool could not be written.
    public var rowsDroppedSpoolError: UInt64 = 0
    /// Rows dropped for storage because the writers and the spill thread were all busy.
    public var rowsDroppedStorageBusy: UInt64 = 0
    /// Rows thrown away on purpose (`--sink none`).
    public var rowsDiscarded: UInt64 = 0
    /// Accepted records not stored as raw events (`--raw-events runs|none`): in liveness and
    /// rollups only.
    public var rowsNotKeptRaw: UInt64 = 0
    /// Rows PostgreSQL refused for their content, isolated from their batch and dead-lettered.
    public var rowsDeadLettered: UInt64 = 0
    /// The same for spooled rows (part of `rowsSpooled`, like `rowsReplayedFromSpool`).
    public var rowsDeadLetteredFromSpool: UInt64 = 0
    /// From the first accepted row's arrival to the latest commit, milliseconds (0 before any).
    public var ingestWindowMillis: Int64 = 0
    /// Validated records that were not queued (`overload`, or `rate_limited` at a receiver) but
    /// reached liveness as overflow arrivals.
    public var recordsSeenOnOverflow: UInt64 = 0
    /// Validated records that reached neither storage nor liveness: "not seen" (should stay 0;
    /// the monitor convicts nobody while it moves).
    public var recordsNotSeen: UInt64 = 0
    /// Rows waiting in the receivers' rings.
    public var ringOccupancy: Int = 0
    /// Rows waiting in the spool.
    public var spoolRows: Int = 0
    /// The same three counts for each transport (each balances on its own once drained).
    public var byTransport: [IngestTransport: TransportCounts] = [:]

    /// Records one transport received, accepted and rejected (by reason).
    public struct TransportCounts: Sendable, Equatable, Encodable {
        public var received: UInt64 = 0
        public var accepted: UInt64 = 0
        public var rejected: [RejectionReason: UInt64] = [:]

        public init() {}

        /// Whether `received == accepted + Σ rejected`.
        public var isBalanced: Bool { received == accepted + rejected.values.reduce(0, +) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(received, forKey: Key("received"))
            try container.encode(accepted, forKey: Key("accepted"))
            try container.encode(
                Dictionary(uniqueKeysWithValues: RejectionReason.allCases.map { ($0.description, rejected[$0, default: 0]) }), forKey: Key("rejected"))
        }
    }

    /// Σ rejected over every reason.
    public var recordsRejected: UInt64 { rejected.values.reduce(0, +) }

    /// Records received but neither accepted nor rejected yet (in a ring): 0 after a drain.
    public var recordsInFlight: Int64 { Int64(recordsReceived) - Int64(recordsAccepted) - Int64(recordsRejected) }

    /// Whether both invariants hold exactly (true once the collector is drained).
    public var isBalanced: Bool {
        recordsReceived == recordsAccepted + recordsRejected
            && recordsAccepted
                == rowsStored + rowsSpooled + rowsDeadLettered + rowsDroppedSpoolFull + rowsDroppedSpoolError + rowsDroppedStorageBusy + rowsDiscarded
                + rowsNotKeptRaw
    }

    public var description: String {
        let reasons = RejectionReason.allCases.map { "\($0)=\(rejected[$0, default: 0])" }.joined(separator: " ")
        return "received=\(recordsReceived) accepted=\(recordsAccepted) rejected[\(reasons)] stored=\(rowsStored) spooled=\(rowsSpooled) replayed=\(rowsReplayedFromSpool) spool_full=\(rowsDroppedSpoolFull) spool_error=\(rowsDroppedSpoolError) storage_busy=\(rowsDroppedStorageBusy) spool_corrupt=\(rowsDroppedSpoolCorrupt) dead_lettered=\(rowsDeadLettered) dead_lettered_from_spool=\(rowsDeadLetteredFromSpool) discarded=\(rowsDiscarded) not_kept_raw=\(rowsNotKeptRaw) seen_on_overflow=\(recordsSeenOnOverflow) not_seen=\(recordsNotSeen) window_ms=\(ingestWindowMillis) ring=\(ringOccupancy) spool_rows=\(spoolRows)"
    }

    private struct Key: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// The same names as the `final:` line, `rejected` as an object by reason, and the balance.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        let counts: [(String, UInt64)] = [
            ("received", recordsReceived), ("accepted", recordsAccepted), ("stored", rowsStored), ("spooled", rowsSpooled),
            ("replayed", rowsReplayedFromSpool), ("spool_full", rowsDroppedSpoolFull), ("spool_error", rowsDroppedSpoolError),
            ("storage_busy", rowsDroppedStorageBusy), ("spool_corrupt", rowsDroppedSpoolCorrupt), ("dead_lettered", rowsDeadLettered),
            ("dead_lettered_from_spool", rowsDeadLetteredFromSpool), ("discarded", rowsDiscarded), ("not_kept_raw", rowsNotKeptRaw), ("seen_on_overflow", recordsSeenOnOverflow),
            ("not_seen", recordsNotSeen),
        ]
        for (name, value) in counts { try container.encode(value, forKey: Key(name)) }
        try container.encode(
            Dictionary(uniqueKeysWithValues: RejectionReason.allCases.map { ($0.description, rejected[$0, default: 0]) }), forKey: Key("rejected"))
        try container.encode(ingestWindowMillis, forKey: Key("window_ms"))
        try container.encode(ringOccupancy, forKey: Key("ring"))
        try container.encode(spoolRows, forKey: Key("spool_rows"))
        try container.encode(recordsInFlight, forKey: Key("in_flight"))
        try container.encode(isBalanced, forKey: Key("balanced"))
        try container.encode(
            Dictionary(uniqueKeysWithValues: IngestTransport.allCases.map { ($0.description, byTransport[$0] ?? TransportCounts()) }),
            forKey: Key("transports"))
    }
}
