/// A ``RollupTable``'s entries as a binary COPY body for `heartbeat_rollup_minute` (the format
/// ``BinaryCopyEncoder`` describes). Built once a minute on the writer's thread, so plain bytes.
struct RollupCopyBody {
    static let columns =
        "application_id, instance, minute, beats, starts, successes, fails, stops, sequenced, seq_min, seq_max, first_at, last_at, delay_min_us, delay_max_us"
    static let copyStatement = "COPY heartbeat_rollup_minute (\(columns)) FROM STDIN (FORMAT binary)"

    private(set) var bytes: [UInt8]
    /// Rows encoded.
    private(set) var rows = 0

    /// A body with room for `rows` rows.
    init(reservingRows rows: Int) {
        bytes = BinaryCopyEncoder.header
        bytes.reserveCapacity(BinaryCopyEncoder.header.count + rows * 132 + 2)
    }

    /// Appends one entry as one row.
    mutating func append(_ entry: RollupEntry) {
        let minuteStart = Int64(entry.minute) * RollupEntry.microsPerMinute
        put(Int16(15))
        put4(entry.applicationID)
        put8(Int64(entry.instance))
        put8(minuteStart &- BinaryCopyEncoder.postgresEpochOffsetMicros)
        put4(Int32(clamping: entry.beats))
        put4(Int32(clamping: entry.starts))
        put4(Int32(clamping: entry.successes))
        put4(Int32(clamping: entry.fails))
        put4(Int32(clamping: entry.stops))
        put4(Int32(clamping: entry.sequenced))
        if entry.sequenced > 0 {
            put8(Int64(bitPattern: entry.sequenceMin))
            put8(Int64(bitPattern: entry.sequenceMax))
        } else {
            put(Int32(-1))  // NULL
            put(Int32(-1))
        }
        put8(minuteStart + Int64(entry.firstMillis) * 1_000 &- BinaryCopyEncoder.postgresEpochOffsetMicros)
        put8(minuteStart + Int64(entry.lastMillis) * 1_000 &- BinaryCopyEncoder.postgresEpochOffsetMicros)
        put4(entry.delayMinMicros)
        put4(entry.delayMaxMicros)
        rows += 1
    }

    /// The complete body (the trailer added).
    func finished() -> [UInt8] {
        var complete = bytes
        complete.append(0xFF)
        complete.append(0xFF)
        return complete
    }

    private mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func put4(_ value: Int32) {
        put(Int32(4))
        put(value)
    }

    private mutating func put8(_ value: Int64) {
        put(Int32(8))
        put(value)
    }
}
