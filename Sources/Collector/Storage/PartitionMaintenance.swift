import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The service that keeps partitions ready while the collector runs: every ten minutes it creates
/// the days ahead and drops expired ones (``PartitionMaintainer``), on a connection of its own.
final class PartitionMaintenance: CollectorService {
    let serviceName = "partition maintenance"
    private let maintainer: PartitionMaintainer
    private let databaseURL: String
    private let worker = WorkerThread()
    /// Maintenance runs that failed (retried ten minutes later).
    let failedRuns = ManagedAtomic<UInt64>(0)

    static let periodMillis = 600_000

    init(maintainer: PartitionMaintainer, databaseURL: String) {
        self.maintainer = maintainer
        self.databaseURL = databaseURL
    }

    func start() {
        worker.start(name: "heartbeat-maintenance") { [self] in run() }
    }

    func stop() {
        worker.stop()
    }

    /// Sleeps in short steps so that stopping never waits for the period.
    private func run() {
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
