import Atomics
import Foundation
import ThreadSafety

#if canImport(Glibc)
import Glibc
#endif

/// Writes the drain's rollup tables to `heartbeat_rollup_minute`, on a thread and connection of
/// its own, so the drain never waits for PostgreSQL.
///
/// Two tables take turns: the drain counts into one; when a flush is due (each minute, see
/// ``IngestDrain``) it hands that one over through ``exchange(_:)`` and gets the other back,
/// cleared. The writer encodes the table, COPYs it, clears it (``RollupTable/clearForReuse()``)
/// and keeps it as the spare. While
/// PostgreSQL fails, the writer keeps the table and retries (1 s, doubling to 30 s); the drain has
/// no spare, so it goes on counting into its own table — minutes pile up in it, keyed by minute,
/// and nothing is lost while the collector runs. A collector stopped while PostgreSQL is down
/// retries for ``stopRetrySeconds`` and then counts what it could not write as lost.
final class RollupWriter: ThreadedService, @unchecked Sendable {
    let threadName = "heartbeat-rollups"
    let serviceName = "rollup writer"
    let worker = WorkerThread()
    static let stopRetrySeconds: Int64 = 10
    /// Keys the two tables are sized for at start (4 MiB each): they grow with the fleet in its
    /// first minutes, not with the registry, so a large registry with few senders costs nothing.
    static let initialKeys = 32_768

    /// What passes between the drain and the writer (under the lock): tables waiting to be
    /// written, oldest first, and the cleared table the drain gets next.
    private struct Handoff {
        var full: [RollupTable] = []
        var spare: RollupTable?
    }

    private let handoff: Locked<Handoff>
    private let databaseURL: String
    private let partitions: PartitionMaintainer
    private let expectedKeys: Int
    let metrics: RollupMetrics

    init(databaseURL: String, expectedKeys: Int, partitions: PartitionMaintainer, metrics: RollupMetrics) {
        let initialKeys = min(expectedKeys, Self.initialKeys)
        self.databaseURL = databaseURL
        self.expectedKeys = initialKeys
        self.partitions = partitions
        self.metrics = metrics
        handoff = Locked(Handoff(spare: RollupTable(expectedKeys: initialKeys)))
    }

    /// The table the drain counts into first. Drain thread, once.
    func firstTable() -> RollupTable { RollupTable(expectedKeys: expectedKeys) }

    /// Drain thread: hands `table` over when the writer has a cleared spare, and returns the table
    /// to count into next — the spare, or `table` itself while the writer still holds the other.
    func exchange(_ table: RollupTable) -> RollupTable {
        guard table.count > 0 else { return table }
        return handoff.withLock { state in
            guard let spare = state.spare else { return table }
            state.spare = nil
            state.full.append(table)
            return spare
        }
    }

    /// Drain thread, stopping: hands over the last table, whatever the writer holds.
    func handOverLast(_ table: RollupTable) {
        guard table.count > 0 else { return }
        handoff.withLock { $0.full.append(table) }
    }

    /// Writes tables as they come; once stopped (after the drain, which handed its last table
    /// over), writes what is left, retrying for at most ``stopRetrySeconds``.
    func run() {
        var connection: PostgresConnection?
        var backoffMillis: Int64 = 0
        var retryAtMicros: Int64 = 0
        var stopDeadlineMicros: Int64?
        while true {
            let now = WallClock.monotonicMicros()
            if worker.isStopRequested, stopDeadlineMicros == nil { stopDeadlineMicros = now + Self.stopRetrySeconds * 1_000_000 }
            guard let table = handoff.withLock({ $0.full.first }) else {
                if stopDeadlineMicros != nil { return }
                usleep(50_000)
                continue
            }
            if now < retryAtMicros {
                if let deadline = stopDeadlineMicros, now >= deadline {
                    abandonPending()
                    return
                }
                usleep(50_000)
                continue
            }
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                try write(table, on: connection!)
                table.clearForReuse()
                handoff.withLock { state in
                    state.full.removeFirst()
                    if state.spare == nil { state.spare = table }
                }
                backoffMillis = 0
            } catch {
                connection = nil
                metrics.writeFailures.wrappingIncrement(ordering: .relaxed)
                backoffMillis = min(max(backoffMillis * 2, 1_000), 30_000)
                retryAtMicros = WallClock.monotonicMicros() + backoffMillis * 1_000
                if let deadline = stopDeadlineMicros, WallClock.monotonicMicros() >= deadline {
                    abandonPending()
                    return
                }
            }
        }
    }

    /// One table as one COPY, after making sure its days have partitions.
    private func write(_ table: RollupTable, on connection: PostgresConnection) throws(PostgresError) {
        var body = RollupCopyBody(reservingRows: table.count)
        var days = Set<Int64>()
        table.forEach { entry in
            body.append(entry)
            days.insert(Int64(entry.minute) / 1_440)
        }
        try partitions.createPartitions(days: days.sorted(), on: connection)
        let bytes = body.finished()
        let result: Result<Int, PostgresError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(PostgresError) in try connection.copyIn(RollupCopyBody.copyStatement, data: buffer) }
        }
        _ = try result.get()
        metrics.rowsWritten.wrappingIncrement(by: UInt64(body.rows), ordering: .relaxed)
        metrics.recordsWritten.wrappingIncrement(by: table.records, ordering: .relaxed)
        metrics.lastWriteMicros.store(WallClock.nowMicros(), ordering: .relaxed)
    }

    /// Stopping with PostgreSQL still failing: what is left is counted, and said, as lost.
    private func abandonPending() {
        let tables = handoff.withLock { state in
            defer { state.full.removeAll() }
            return state.full
        }
        let records = tables.reduce(0) { $0 + $1.records }
        guard records > 0 else { return }
        metrics.recordsLost.wrappingIncrement(by: records, ordering: .relaxed)
        FileHandle.standardError.write(Data(
            "heartbeat: rollups of \(records) records could not be written before stopping (PostgreSQL failing); they are counted in heartbeat_rollup_records_lost_total\n".utf8))
    }
}
