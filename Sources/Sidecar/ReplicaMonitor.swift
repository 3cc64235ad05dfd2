import Atomics
import Collector
import Foundation
import ThreadSafety

/// Watches the streaming replica history reads may use: every ``periodMicros`` on its own thread
/// it reads the primary's WAL position and the replica's replayed one (two one-row queries on
/// connections of its own) and keeps a ``ReplicaRouting/Observation``. Reads ask ``route(nowMicros:)``,
/// a lock and a comparison, never a query.
final class ReplicaMonitor: Sendable {
    /// How often the two positions are read.
    static let periodMicros: Int64 = 200_000
    /// How long a read may lag (the history routes' `Cache-Control: max-age=1`).
    static let maxAgeMicros: Int64 = 1_000_000

    private let primaryURL: String
    private let replicaURL: String
    private let observation = Locked<ReplicaRouting.Observation?>(nil)
    private let worker = WorkerThread()

    /// Replica reads, and reads sent to the primary by reason (`heartbeat_history_reads_total`).
    let replicaReads = ManagedAtomic<UInt64>(0)
    let replicaReadsPrimaryDown = ManagedAtomic<UInt64>(0)
    let fallbacks = Dictionary(uniqueKeysWithValues: ReplicaRouting.Fallback.allCases.map { ($0, ManagedAtomic<UInt64>(0)) })

    init(primaryURL: String, replicaURL: String) {
        self.primaryURL = primaryURL
        self.replicaURL = replicaURL
    }

    /// Starts the probing thread (the owner calls start and stop, from one thread).
    func start() {
        worker.start(name: "heartbeat-replica-monitor") { [self] in run() }
    }

    /// Stops the thread and waits for it (a probe in progress ends first).
    func stop() {
        worker.stop()
    }

    /// Where a read at `nowMicros` (monotonic) goes.
    func route(nowMicros: Int64 = ReplicaMonitor.nowMicros()) -> ReplicaRouting.Route {
        ReplicaRouting.route(observation.withLock { $0 }, nowMicros: nowMicros, maxAgeMicros: Self.maxAgeMicros)
    }

    /// The last observation (for `/metrics`).
    var lastObservation: ReplicaRouting.Observation? { observation.withLock { $0 } }

    /// A read failed on the replica: reads go to the primary until the next probe finds it again.
    func markUnreachable() {
        observation.withLock { $0?.replicaReachable = false }
    }

    /// Monotonic microseconds.
    static func nowMicros() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000) }

    private func run() {
        var freshness = ReplicaRouting.Freshness(capacity: 600)  // two minutes of samples
        var primary: PostgresConnection?
        var replica: PostgresConnection?
        while !worker.isStopRequested {
            let primaryRow = Self.row(&primary, url: primaryURL, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS position")
            if let position = primaryRow?["position"].flatMap({ UInt64($0) }) { freshness.record(atMicros: Self.nowMicros(), primaryPosition: position) }
            let replicaRow = Self.row(&replica, url: replicaURL, "SELECT pg_is_in_recovery() AS recovering, (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::text AS position")
            let now = Self.nowMicros()
            let seen = ReplicaRouting.Observation(
                atMicros: now, replicaReachable: replicaRow != nil, replicaInRecovery: replicaRow?.bool("recovering") ?? false, primaryReachable: primaryRow != nil,
                lagMicros: replicaRow?["position"].flatMap { UInt64($0) }.flatMap { freshness.lagMicros(replayed: $0, nowMicros: now) })
            observation.withLock { $0 = seen }
            worker.pause(micros: Self.periodMicros)
        }
    }

    /// The one row `sql` returns on `connection` (opened on `url` when missing or broken); nil when
    /// the server did not answer, and the connection is then dropped.
    private static func row(_ connection: inout PostgresConnection?, url: String, _ sql: String) -> QueryRow? {
        do {
            if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: url) }
            return try connection!.execute(sql).first
        } catch {
            connection = nil
            return nil
        }
    }
}
