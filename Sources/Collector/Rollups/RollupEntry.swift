import Protocol

/// What one collector counted of one (application, instance, minute): one row of
/// `heartbeat_rollup_minute` (Spec/storage.md, "Rollups"). Exactly 64 bytes, one cache line, so
/// counting a record touches one line of the ``RollupTable``; the field order is the layout.
struct RollupEntry: Equatable, BitwiseCopyable {
    /// `application.id`.
    var applicationID: Int32
    /// The sender's instance (HTTP pings: the hash of `?instance=`, or 0).
    var instance: UInt32
    /// Minutes since 1970-01-01T00:00Z of the records' receive time; 0 marks an empty slot (no
    /// record is received in 1970).
    var minute: Int32
    /// Records by kind (wire values 0 beat … 4 stop).
    var beats: UInt32
    var starts: UInt32
    var successes: UInt32
    var fails: UInt32
    var stops: UInt32
    /// Records that carry a sequence number (all but HTTP pings, which have `seq` 0): only these
    /// enter loss.
    var sequenced: UInt32
    /// First and last receive time, milliseconds into the minute (0-59,999).
    var firstMillis: UInt16
    var lastMillis: UInt16
    /// Transit delay (received − sent, µs, both clocks' difference included), saturated to Int32.
    var delayMinMicros: Int32
    var delayMaxMicros: Int32
    /// The lowest and highest sequence number of the sequenced records (`UInt64.max` and 0 while
    /// there are none).
    var sequenceMin: UInt64
    var sequenceMax: UInt64

    static let microsPerMinute: Int64 = 60_000_000

    /// Every record counted.
    var records: UInt32 { beats &+ starts &+ successes &+ fails &+ stops }

    /// The minute a receive time falls in.
    @inline(__always)
    static func minute(ofMicros micros: Int64) -> Int32 {
        Int32(truncatingIfNeeded: micros / microsPerMinute)
    }

    /// An entry that has counted `row` only.
    @inline(__always)
    init(first row: HeartbeatRow, minute: Int32) {
        applicationID = row.applicationID
        instance = row.instance
        self.minute = minute
        beats = 0
        starts = 0
        successes = 0
        fails = 0
        stops = 0
        sequenced = 0
        let millis = UInt16(truncatingIfNeeded: (row.receivedAtMicros - Int64(minute) * Self.microsPerMinute) / 1_000)
        firstMillis = millis
        lastMillis = millis
        let delay = Self.delay(row)
        delayMinMicros = delay
        delayMaxMicros = delay
        sequenceMin = .max
        sequenceMax = 0
        countKind(row)
    }

    /// Adds `row` (of this entry's key) to the counts.
    @inline(__always)
    mutating func add(_ row: HeartbeatRow) {
        let millis = UInt16(truncatingIfNeeded: (row.receivedAtMicros - Int64(minute) * Self.microsPerMinute) / 1_000)
        firstMillis = min(firstMillis, millis)
        lastMillis = max(lastMillis, millis)
        let delay = Self.delay(row)
        delayMinMicros = min(delayMinMicros, delay)
        delayMaxMicros = max(delayMaxMicros, delay)
        countKind(row)
    }

    @inline(__always)
    private mutating func countKind(_ row: HeartbeatRow) {
        switch row.kind {
        case .beat: beats &+= 1
        case .start: starts &+= 1
        case .success: successes &+= 1
        case .fail: fails &+= 1
        case .stop: stops &+= 1
        }
        if row.sequence != 0 {
            sequenced &+= 1
            sequenceMin = min(sequenceMin, row.sequence)
            sequenceMax = max(sequenceMax, row.sequence)
        }
    }

    @inline(__always)
    private static func delay(_ row: HeartbeatRow) -> Int32 {
        Int32(clamping: row.receivedAtMicros &- row.sentAtMicros)
    }
}
