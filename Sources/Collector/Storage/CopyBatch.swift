/// One batch of accepted rows, already encoded as a binary COPY body, on its way from the drain
/// to a writer. Batches are recycled so their buffers are allocated once.
final class CopyBatch {
    var encoder: BinaryCopyEncoder
    /// Monotonic time the first row went in (the batch's age decides when it closes).
    var openedAtNanos: UInt64 = 0
    /// Receive times of the oldest and newest rows (for the receive → commit latency).
    var oldestReceivedMicros: Int64 = .max
    var newestReceivedMicros: Int64 = .min

    init(expectedRows: Int) {
        encoder = BinaryCopyEncoder(reservingRows: expectedRows)
    }

    var rows: Int { encoder.rows }

    func append(_ row: HeartbeatRow, nowNanos: UInt64) {
        if encoder.rows == 0 { openedAtNanos = nowNanos }
        encoder.append(row)
        oldestReceivedMicros = min(oldestReceivedMicros, row.receivedAtMicros)
        newestReceivedMicros = max(newestReceivedMicros, row.receivedAtMicros)
    }

    func reset() {
        encoder.reset()
        oldestReceivedMicros = .max
        newestReceivedMicros = .min
    }
}
