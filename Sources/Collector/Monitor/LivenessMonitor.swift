import Atomics
import Foundation
import Protocol

/// The monitor: one thread that applies the records the drain hands it, checks every application's
/// deadline (``LivenessBoard``) and records each transition exactly once in PostgreSQL
/// (``TransitionWriter``). It wakes ten times per check period: a sweep that finds nothing due costs
/// ~1.4 ms for a million applications, and sweeping that often keeps detection well inside one
/// period of the deadline.
///
/// With Redis (``HotState``), it also takes arrivals at other collectors from `remoteFeed` and
/// records transitions only while it holds the leader lease. Followers keep their board current
/// and hold the transitions they computed for ``pendingHorizonMicros``: a new leader writes those
/// first (the conditional UPDATE skips any its predecessor already recorded, so none is lost in the
/// hand-over and none doubled), then re-reads the stored statuses. Redis unreachable (degraded): every monitor acts, but convicts only applications
/// whose latest record it received itself — the collector that heard an application last judges
/// it, so one that beats only at another collector is not marked late here.
///
/// Stall guard: when it wakes more than two periods late (the process was stopped or starved), the
/// monitor does not convict anyone for that gap: it first takes in every record that waited
/// meanwhile, and convicts again only after one clean period — so a stalled collector never marks applications
/// that kept sending late or down.
final class LivenessMonitor: @unchecked Sendable {
    private let databaseURL: String
    private let registry: RegistryHolder
    private let lastSeen: LastSeenTable
    private let feed: RowRing
    private let periodMicros: Int64
    private let worker = WorkerThread()
    private let hotState: HotState?
    private let webhookURLs: [String]
    let metrics: MonitorMetrics

    /// The monitor's links to the Redis hot state.
    struct HotState {
        /// Arrivals at other collectors (from ``HotStateSync``).
        let remoteFeed: RowRing
        let lease: MonitorLease
        let sync: HotStateSync
        let publisher: TransitionPublisher
        let metrics: HotStateMetrics
    }

    /// Validated arrivals the collector could not count for liveness so far (``IngestCounters/recordsNotSeen``):
    /// while it moves, the monitor convicts nobody, as for its own stalls.
    private let notSeenTotal: @Sendable () -> UInt64

    init(
        databaseURL: String, registry: RegistryHolder, lastSeen: LastSeenTable, feed: RowRing, periodMillis: Int, metrics: MonitorMetrics,
        hotState: HotState? = nil, webhookURLs: [String] = [], notSeenTotal: @escaping @Sendable () -> UInt64 = { 0 }
    ) {
        self.notSeenTotal = notSeenTotal
        self.databaseURL = databaseURL
        self.registry = registry
        self.lastSeen = lastSeen
        self.feed = feed
        self.periodMicros = Int64(periodMillis) * 1_000
        self.metrics = metrics
        self.hotState = hotState
        self.webhookURLs = webhookURLs
    }

    func start() {
        worker.start(name: "heartbeat-monitor") { [self] in run() }
    }

    func stop() {
        worker.stop()
    }

    private func run() {
        let defaultPolicy = LivenessPolicy(intervalMicros: 60_000_000, graceMicros: 30_000_000)
        var board = LivenessBoard(capacity: 16, defaultPolicy: defaultPolicy)
        var loadedVersion: Int64 = -1
        var connection: PostgresConnection?
        var scratch = [HeartbeatRow](repeating: HeartbeatRow(applicationID: 0, kind: .beat, instance: 0, sequence: 1, receivedAtMicros: 0, sentAtMicros: 0, status: 0), count: 4_096)
        var transitions = [(applicationID: Int, transition: LivenessTransition)]()
        var previousWake = WallClock.nowMicros()
        var convictAfter = previousWake + periodMicros  // start-up counts as a gap: watch one period first
        var databaseMicros: Int64 = 0
        // Runs closed by records this collector received, not yet stored (application.last_run_*).
        var runsClosed = [Int: LivenessMachine.ClosedRun]()
        var previousRole = Role.follower
        var reloadNextTick = false
        // A follower's transitions, kept for a new leader to write (oldest first).
        var pending = [(applicationID: Int, transition: LivenessTransition)]()
        // Whether each application's latest record, as far as the board knows, came to this
        // collector (false: through Redis from another one).
        var heardHereLast = [Bool]()
        var notSeenAtLastTick = notSeenTotal()
        while !worker.isStopRequested {
            usleep(UInt32(max(1_000, periodMicros / 10)))
            let now = WallClock.nowMicros()
            // Only the lease holder records transitions; one that just gained the lease first
            // adopts what the previous holder stored.
            let role: Role = hotState.map { $0.lease.isLeader ? .leader : $0.lease.isDegraded ? .degraded : .follower } ?? .alone
            let becameActing = role != previousRole && role != .follower
            previousRole = role
            if reloadNextTick {
                loadedVersion = -1
                reloadNextTick = false
            }
            // Take in records as they come (every ~period/10), so recoveries are recorded promptly.
            transitions.removeAll(keepingCapacity: true)
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                let snapshotVersion = registry.snapshot.version
                if snapshotVersion != loadedVersion {
                    board = try Self.loadPolicies(into: board, on: connection!, nowMicros: now, defaultPolicy: defaultPolicy)
                    loadedVersion = snapshotVersion
                    databaseMicros += WallClock.nowMicros() - now
                }
            } catch {
                connection = nil
                metrics.failures.wrappingIncrement(ordering: .relaxed)
                continue
            }
            while true {
                let count = scratch.withUnsafeMutableBufferPointer { feed.pop(into: $0.baseAddress!, maximum: $0.count) }
                guard count > 0 else { break }
                for index in 0..<count {
                    let row = scratch[index]
                    let id = Int(row.applicationID)
                    if id >= board.capacity { board = board.resized(capacity: id * 2, defaultPolicy: defaultPolicy) }
                    if let transition = board.receive(row.kind, for: id, atMicros: row.receivedAtMicros, recordIntervalMillis: row.intervalMillis) {
                        transitions.append((id, transition))
                    }
                    if hotState != nil { Self.mark(&heardHereLast, id, true) }
                    if row.kind == .success || row.kind == .fail, let run = board.machine(for: id).lastRun, run.endedMicros == row.receivedAtMicros {
                        runsClosed[id] = run
                    }
                }
            }
            while let hotState {
                let count = scratch.withUnsafeMutableBufferPointer { hotState.remoteFeed.pop(into: $0.baseAddress!, maximum: $0.count) }
                guard count > 0 else { break }
                for row in scratch[0..<count] {
                    let id = Int(row.applicationID)
                    if id >= board.capacity { board = board.resized(capacity: id * 2, defaultPolicy: defaultPolicy) }
                    // A remote last-seen time the board already has (the record itself came
                    // through the stream, or here) adds nothing; a `fail` must not be undone by it.
                    if row.kind == .beat, row.receivedAtMicros <= board.machine(for: id).lastSeenMicros { continue }
                    if let transition = board.receive(row.kind, for: id, atMicros: row.receivedAtMicros, recordIntervalMillis: row.intervalMillis) {
                        transitions.append((id, transition))
                    }
                    Self.mark(&heardHereLast, id, false)
                }
            }
            // A wake-up much later than planned means this process stalled (stopped, starved):
            // nobody is convicted for that gap; convictions resume one clean period later.
            // Time spent waiting on PostgreSQL is the monitor's own work, not a stall.
            let gap = now - previousWake - databaseMicros
            previousWake = now
            databaseMicros = 0
            if gap > 2 * periodMicros {
                convictAfter = now + periodMicros
                metrics.stalls.wrappingIncrement(ordering: .relaxed)
            }
            // Arrivals lost for liveness since the last tick (the receivers could neither queue nor
            // record them): the window they fell in convicts nobody; convictions resume one clean
            // period after the last loss, when every application had the chance to be heard again.
            let notSeen = notSeenTotal()
            if notSeen != notSeenAtLastTick {
                notSeenAtLastTick = notSeen
                convictAfter = max(convictAfter, now + periodMicros)
                metrics.lossHolds.wrappingIncrement(ordering: .relaxed)
            }
            if now >= convictAfter {
                let started = DispatchTime.now().uptimeNanoseconds
                let lastSeen = self.lastSeen
                // A leader judges only deadlines the global view is complete for.
                let judgedUntil = role == .leader ? min(now, hotState!.sync.consistentUntilMicros.load(ordering: .acquiring)) : now
                board.sweep(nowMicros: judgedUntil, latestArrival: { lastSeen.entry(for: Int64($0)).receivedMicros }, into: &transitions)
                metrics.checkSeconds.record(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            }
            switch role {
            case .alone, .leader, .degraded:
                if becameActing {
                    transitions = pending + transitions
                    pending.removeAll()
                    reloadNextTick = true  // after this tick's write: adopt what the predecessor stored
                }
                if role == .degraded {
                    transitions.removeAll { !($0.applicationID < heardHereLast.count && heardHereLast[$0.applicationID]) }
                }
            case .follower:
                pending += transitions
                transitions.removeAll(keepingCapacity: true)
                if let first = pending.first, first.transition.atMicros < now - Self.pendingHorizonMicros {
                    pending.removeAll { $0.transition.atMicros < now - Self.pendingHorizonMicros }
                }
            }
            if !runsClosed.isEmpty, let connection {
                do throws(PostgresError) {
                    try Self.storeRuns(runsClosed, on: connection)
                    runsClosed.removeAll(keepingCapacity: true)
                } catch {
                    metrics.failures.wrappingIncrement(ordering: .relaxed)
                }
            }
            guard !transitions.isEmpty, let connection else { continue }
            let writeStarted = WallClock.nowMicros()
            defer { databaseMicros += WallClock.nowMicros() - writeStarted }
            do throws(PostgresError) {
                let won = try TransitionWriter.write(transitions, webhookURLs: webhookURLs, render: hotState != nil, on: connection)
                let recordedAt = WallClock.nowMicros()
                for recorded in won where [.missedInterval, .missedGrace, .runTimeout].contains(recorded.transition.reason) {
                    metrics.detectionDelaySeconds.record(Double(recordedAt - recorded.transition.atMicros) / 1e6)
                }
                hotState?.publisher.publish(won.compactMap(\.payload))
                metrics.transitionsRecorded.wrappingIncrement(by: UInt64(won.count), ordering: .relaxed)
                // A transition lost means the stored status was not what the board expected:
                // another collector recorded the same change (nothing to do), or an operator
                // paused or resumed the application — the board takes the stored status.
                if won.count < transitions.count {
                    let wonKeys = Set(won.map { "\($0.applicationID)/\($0.transition.atMicros)/\($0.transition.to)" })
                    let lost = Set(transitions.filter { !wonKeys.contains("\($0.applicationID)/\($0.transition.atMicros)/\($0.transition.to)") }.map(\.applicationID))
                    try Self.adoptStoredStatuses(of: lost, into: &board, on: connection, nowMicros: WallClock.nowMicros())
                }
            } catch {
                // The board moved on but the database did not: reload the stored statuses.
                metrics.failures.wrappingIncrement(ordering: .relaxed)
                loadedVersion = -1
            }
        }
    }

    /// How long a follower keeps the transitions it computed: longer than a take-over takes.
    static let pendingHorizonMicros: Int64 = 10_000_000

    /// Who records transitions this tick.
    private enum Role {
        /// No Redis: this monitor decides alone (PostgreSQL still makes each transition once).
        case alone
        /// Holds the lease: records every transition.
        case leader
        /// Another collector leads: keeps its board current, records nothing.
        case follower
        /// Redis unreachable: records transitions of applications whose latest record it received.
        case degraded
    }

    private static func mark(_ flags: inout [Bool], _ id: Int, _ value: Bool) {
        if id >= flags.count { flags += Array(repeating: false, count: id + 1 - flags.count) }
        flags[id] = value
    }

    /// Stores each application's latest closed run (`last_run_ms`, `last_run_at`), in one
    /// statement; an older run never overwrites a newer one.
    private static func storeRuns(_ runs: [Int: LivenessMachine.ClosedRun], on connection: PostgresConnection) throws(PostgresError) {
        let ordered = Array(runs)
        try connection.execute("""
            UPDATE application SET last_run_ms = v.ms, last_run_at = to_timestamp(v.ended / 1000000.0)
            FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS v (id, ms, ended)
            WHERE application.id = v.id AND (last_run_at IS NULL OR last_run_at < to_timestamp(v.ended / 1000000.0))
            """,
            [
                PostgresConnection.arrayParameter(ordered.map { String($0.key) }),
                PostgresConnection.arrayParameter(ordered.map { String($0.value.durationMicros / 1_000) }),
                PostgresConnection.arrayParameter(ordered.map { String($0.value.endedMicros) }),
            ])
    }

    /// Makes the board agree with the stored status of applications `ids`.
    private static func adoptStoredStatuses(of ids: Set<Int>, into board: inout LivenessBoard, on connection: PostgresConnection, nowMicros: Int64) throws(PostgresError) {
        let rows = try connection.execute(
            "SELECT id, status FROM application WHERE id = ANY($1::int[])", [PostgresConnection.arrayParameter(ids.map(String.init))])
        for row in rows.rows {
            guard let id = row.int("id"), id < board.capacity, let text = row["status"], let status = LivenessStatus(label: text) else { continue }
            board.adopt(status: status, for: id, nowMicros: nowMicros)
        }
    }

    /// Loads every application's policy and stored status into `board` (grown as needed).
    private static func loadPolicies(
        into board: LivenessBoard, on connection: PostgresConnection, nowMicros: Int64, defaultPolicy: LivenessPolicy
    ) throws(PostgresError) -> LivenessBoard {
        var board = board
        try connection.forEachRow("SELECT id, interval_ms, grace_ms, max_run_ms, status FROM application") { row in
            guard let id = row.int("id"), let interval = row.int64("interval_ms"), let grace = row.int64("grace_ms"),
                let statusText = row["status"], let status = LivenessStatus(label: statusText)
            else { return }
            if id >= board.capacity { board = board.resized(capacity: id * 2, defaultPolicy: defaultPolicy) }
            board.setPolicy(
                LivenessPolicy(intervalMicros: interval * 1_000, graceMicros: grace * 1_000, maxRunMicros: row.int64("max_run_ms").map { $0 * 1_000 }),
                for: id)
            board.adopt(status: status, for: id, nowMicros: nowMicros)
        }
        return board
    }
}

/// What the monitor measured.
public final class MonitorMetrics: Sendable {
    /// Time one sweep over every application took (`heartbeat_monitor_check_seconds`).
    public let checkSeconds = LatencyHistogram(bounds: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5])
    /// Deadline → transition recorded (`heartbeat_detection_delay_seconds`).
    public let detectionDelaySeconds = LatencyHistogram(bounds: [0.1, 0.25, 0.5, 0.75, 1, 1.1, 1.25, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60])
    /// Transitions this collector recorded (won).
    public let transitionsRecorded = ManagedAtomic<UInt64>(0)
    /// Ticks that came so late that the monitor skipped convictions.
    public let stalls = ManagedAtomic<UInt64>(0)
    /// Ticks that found arrivals lost for liveness since the one before, and held convictions.
    public let lossHolds = ManagedAtomic<UInt64>(0)
    /// Failed database round trips (retried next tick).
    public let failures = ManagedAtomic<UInt64>(0)

    public init() {}
}

extension LivenessMonitor: CollectorService {
    var serviceName: String { "liveness monitor" }
}
