import Atomics
import Foundation

/// Keeps `application.last_heartbeat` in PostgreSQL current — in batches every
/// ``flushMicros``, never per record: one thread compares the last-seen table with what it stored
/// last time and updates only the applications heard since, 10,000 per statement. Its own thread and
/// connection, so neither the drain nor the monitor ever waits for this write (100,000 rows take
/// PostgreSQL about a second here). Every collector writes the applications it heard; the UPDATE
/// never moves a time backwards.
final class LastHeartbeatWriter: @unchecked Sendable {
    static let flushMicros: Int64 = 10_000_000
    static let chunk = 10_000

    private let databaseURL: String
    private let lastSeen: LastSeenTable
    let worker = WorkerThread()
    /// Rows written, and failed flushes (retried next period).
    let applicationsWritten = ManagedAtomic<UInt64>(0)
    let failures = ManagedAtomic<UInt64>(0)

    init(databaseURL: String, lastSeen: LastSeenTable) {
        self.databaseURL = databaseURL
        self.lastSeen = lastSeen
    }

    /// Flushes every 10 s; when stopped, flushes once more, so a clean shutdown leaves every time stored.
    func run() {
        var stored = [Int64]()
        var connection: PostgresConnection?
        var lastFlush = WallClock.monotonicMicros()
        var stopping = false
        while !stopping {
            stopping = worker.isStopRequested
            if !stopping {
                usleep(100_000)
                guard WallClock.monotonicMicros() - lastFlush >= Self.flushMicros else { continue }
            }
            lastFlush = WallClock.monotonicMicros()
            let changed = lastSeen.changes(since: &stored)
            guard !changed.isEmpty else { continue }
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                for start in stride(from: 0, to: changed.count, by: Self.chunk) {
                    let slice = changed[start..<min(changed.count, start + Self.chunk)]
                    try connection!.execute("""
                        UPDATE application SET last_heartbeat = to_timestamp(v.micros / 1000000.0)
                        FROM unnest($1::int[], $2::bigint[]) AS v (id, micros)
                        WHERE application.id = v.id AND (last_heartbeat IS NULL OR last_heartbeat < to_timestamp(v.micros / 1000000.0))
                        """,
                        [PostgresConnection.arrayParameter(slice.map { String($0.id) }), PostgresConnection.arrayParameter(slice.map { String($0.micros) })])
                    for (id, micros) in slice { stored[id] = micros }
                }
                applicationsWritten.wrappingIncrement(by: UInt64(changed.count), ordering: .relaxed)
            } catch {
                connection = nil
                failures.wrappingIncrement(ordering: .relaxed)
            }
        }
    }
}

extension LastHeartbeatWriter: ThreadedService {
    var threadName: String { "heartbeat-last-heartbeat" }
    var serviceName: String { "last-heartbeat writer" }
}
