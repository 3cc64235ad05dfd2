import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The service that keeps partitions ready while the collector runs: every ten minutes it creates
/// the days ahead and drops expired ones (``PartitionMaintainer``), and deletes expired job runs
/// (``RunStore/expire(olderThanDays:on:)``), on a connection of its own.
final class PartitionMaintenance: ThreadedService {
    let threadName = "heartbeat-maintenance"
    let serviceName = "partition maintenance"
    private let maintainer: PartitionMaintainer
    private let databaseURL: String
    /// Days job runs are kept (`job_run`).
    private let runRetentionDays: Int
    let worker = WorkerThread()
    /// Maintenance runs that failed (retried ten minutes later).
    let failedRuns = ManagedAtomic<UInt64>(0)
    /// Job runs deleted for their age.
    let runsExpired = ManagedAtomic<UInt64>(0)

    static let periodMillis = 600_000

    init(maintainer: PartitionMaintainer, databaseURL: String, runRetentionDays: Int = 30) {
        self.maintainer = maintainer
        self.databaseURL = databaseURL
        self.runRetentionDays = runRetentionDays
    }

    /// Sleeps in short steps so that stopping never waits for the period.
    func run() {
        var elapsedMillis = 0
        while !worker.isStopRequested {
            usleep(100_000)
            elapsedMillis += 100
            guard elapsedMillis >= Self.periodMillis else { continue }
            elapsedMillis = 0
            do throws(StoreError) {
                let connection: PostgresConnection
                do throws(PostgresError) {
                    connection = try PostgresConnection(url: databaseURL)
                    try maintainer.maintain(connection, nowMicros: WallClock.nowMicros())
                } catch {
                    throw .database(error)
                }
                let expired = try RunStore.expire(olderThanDays: runRetentionDays, on: connection)
                runsExpired.wrappingIncrement(by: UInt64(expired), ordering: .relaxed)
            } catch {
                failedRuns.wrappingIncrement(ordering: .relaxed)
            }
        }
    }
}
