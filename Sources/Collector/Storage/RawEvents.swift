import Protocol

/// `--raw-events`: which accepted records are also stored as rows of `heartbeat_event`. Liveness,
/// transitions, rollups and counters see every accepted record whatever the mode; only the raw
/// history differs (Spec/storage.md, "Raw events").
public enum RawEvents: String, CaseIterable, Sendable {
    /// Every accepted record (the default, and the only behaviour before rollups).
    case all
    /// `start`, `success`, `fail` and `stop` records, and the first beat after a gap; not routine beats.
    case runs
    /// None: history is rollups, transitions and runs.
    case none

    /// The silence after which a beat is "the first after a gap" when its record promises no
    /// interval; a record that promises one uses twice that.
    static let gapWithoutIntervalMicros: Int64 = 60_000_000

    /// Whether `row` is stored, given the receive time of its application's previous record on
    /// this collector (0 when none).
    @inline(__always)
    func keeps(_ row: HeartbeatRow, previousMicros: Int64) -> Bool {
        switch self {
        case .all: return true
        case .none: return false
        case .runs:
            guard row.kind == .beat else { return true }
            let gap = row.intervalMillis > 0 ? Int64(row.intervalMillis) * 2_000 : Self.gapWithoutIntervalMicros
            return previousMicros == 0 || row.receivedAtMicros - previousMicros > gap
        }
    }
}
