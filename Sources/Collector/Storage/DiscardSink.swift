import Atomics

/// `--sink none`: rows are counted as discarded and never encoded, to measure the receive path
/// alone.
final class DiscardSink: BatchSink, @unchecked Sendable {
    let serviceName = "discard sink"
    private let metrics: StorageMetrics
    /// Rows discarded so far (drain thread only; published on every pass).
    private var discarded: UInt64 = 0

    init(metrics: StorageMetrics) {
        self.metrics = metrics
    }

    func start() {}
    func stop() {}

    func take(_ row: HeartbeatRow, nowNanos: UInt64) {
        discarded &+= 1
    }

    func pass(nowNanos: UInt64) {
        metrics.rowsDiscarded.store(discarded, ordering: .relaxed)
    }

    func flush() {
        metrics.rowsDiscarded.store(discarded, ordering: .relaxed)
    }

    func isStalled(nowMicros: Int64) -> Bool { false }

    func describe(into storage: inout CollectorSnapshot.Storage) {
        storage.sink = "none"
    }
}
