import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The service that keeps partitions ready while the collector runs: every ten minutes it creates
/// the days ahead and drops expired ones (``PartitionMaintainer``), on a connection of its own.
final class PartitionMaintenance: ThreadedService {
    let threadName = "heartbeat-maintenance"
    let serviceName = "partition maintenance"
    private let maintainer: PartitionMaintainer
    private let databaseURL: String
    let worker = WorkerThread()
    /// Maintenance runs that failed (retried ten minutes later).
    let failedRuns = ManagedAtomic<UInt64>(0)

    static let periodMillis = 600_000

    init(maintainer: PartitionMaintainer, databaseURL: String) {
        self.maintainer = maintainer
        self.databaseURL = databaseURL
    }

    /// Sleeps in short steps so that stopping never waits for the period.
    func run() {
        var elapsedMillis = 0
        while !worker.isStopRequested {
            usleep(100_000)
            elapsedMillis += 100
            guard elapsedMillis >= Self.periodMillis else { continue }
            elapsedMillis = 0
            do throws(PostgresError) {
                try maintainer.maintain(PostgresConnection(url: databaseURL), nowMicros: WallClock.nowMicros())
            } catch {
                failedRuns.wrappingIncrement(ordering: .relaxed)
            }
        }
    }
}
