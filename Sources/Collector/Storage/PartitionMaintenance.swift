import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The service that keeps partitions ready while the collector runs: every ten minutes it creates
/// the days ahead and drops expired ones (``PartitionMaintainer``, for raw events and minute
/// rollups), derives yesterday's daily rollups once (``RollupStore/deriveDay(_:on:)``) and deletes
/// expired ones, and deletes expired job runs (``RunStore/expire(olderThanDays:on:)``), on a
/// connection of its own.
final class PartitionMaintenance: ThreadedService {
    let threadName = "heartbeat-maintenance"
    let serviceName = "partition maintenance"
    private let maintainers: [PartitionMaintainer]
    private let databaseURL: String
    /// Days job runs are kept (`job_run`).
    private let runRetentionDays: Int
    /// Days daily rollups are kept.
    private let rollupRetentionDays: Int
    private let rollupMetrics: RollupMetrics
    let worker = WorkerThread()
    /// Maintenance runs that failed (retried ten minutes later).
    let failedRuns = ManagedAtomic<UInt64>(0)
    /// Job runs deleted for their age.
    let runsExpired = ManagedAtomic<UInt64>(0)

    static let periodMillis = 600_000

    init(
        maintainers: [PartitionMaintainer], databaseURL: String, runRetentionDays: Int = 30, rollupRetentionDays: Int = 400,
        rollupMetrics: RollupMetrics = RollupMetrics()
    ) {
        self.maintainers = maintainers
        self.databaseURL = databaseURL
        self.runRetentionDays = runRetentionDays
        self.rollupRetentionDays = rollupRetentionDays
        self.rollupMetrics = rollupMetrics
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
                    for maintainer in maintainers { try maintainer.maintain(connection, nowMicros: WallClock.nowMicros()) }
                } catch {
                    throw .database(error)
                }
                let expired = try RunStore.expire(olderThanDays: runRetentionDays, on: connection)
                runsExpired.wrappingIncrement(by: UInt64(expired), ordering: .relaxed)
                let yesterday = PartitionMaintainer.day(ofMicros: WallClock.nowMicros()) - 1
                if try RollupStore.deriveDay(yesterday, on: connection) > 0 { rollupMetrics.daysDerived.wrappingIncrement(ordering: .relaxed) }
                try RollupStore.expireDays(olderThanDays: rollupRetentionDays, on: connection)
            } catch {
                failedRuns.wrappingIncrement(ordering: .relaxed)
            }
        }
    }
}
