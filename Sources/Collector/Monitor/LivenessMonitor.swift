import Atomics
import Foundation
import Protocol

/// The monitor: one thread that wakes ten times per check period (a sweep that finds nothing due
/// is cheap — `Spec/tuning.md` — and sweeping that often keeps detection well inside one period of
/// the deadline), hands ``MonitorCoordinator`` the records the drain and the Redis
/// hot state passed on, and carries out what it decides: transitions recorded exactly once in
/// PostgreSQL (``TransitionWriter``) and published on Redis, closed runs stored, stored statuses
/// adopted. The decisions themselves — roles, the stall guard, the loss hold, the follower's
/// hand-over, degraded mode — are the coordinator's, and documented there.
final class LivenessMonitor: @unchecked Sendable {
    private let databaseURL: String
    private let registry: RegistryHolder
    private let lastSeen: LastSeenTable
    private let feed: RowRing
    private let periodMicros: Int64
    let worker = WorkerThread()
    private let hotState: HotState?
    let metrics: MonitorMetrics
    /// Where each tick's view of the board is published for readers.
    let views: LivenessViewHolder

    /// The monitor's links to the Redis hot state.
    struct HotState {
        /// Arrivals at other collectors (from ``HotStateSync``).
        let remoteFeed: RowRing
        /// Instances of applications under a quorum heard here (to the sync) and elsewhere (from it).
        let localInstances: RowRing
        let remoteInstances: RowRing
        let lease: MonitorLease
        let sync: HotStateSync
        let publisher: TransitionPublisher
        let metrics: HotStateMetrics
    }

    /// Validated arrivals the collector could not count for liveness so far (``IngestCounters/recordsNotSeen``):
    /// while it moves, the monitor convicts nobody, as for its own stalls.
    private let notSeenTotal: @Sendable () -> UInt64
    /// Running totals of records that reached this collector and of those lost before the
    /// monitor could see them (the incident hold's traffic signals).
    private let trafficTotals: @Sendable () -> (arrivals: UInt64, lost: UInt64)
    private let incidentSettings: IncidentDetector.Settings?
    /// The open incident's row, while this monitor holds notifications for it.
    private var incidentID: Int64?
    /// When to look next for an incident open in the database that no detector holds.
    private var nextOrphanCheckMicros: Int64 = 0
    /// When the monitor thread last said a failure on standard error (touched by it alone).
    private var failureReport = FailureReport()

    init(
        databaseURL: String, registry: RegistryHolder, lastSeen: LastSeenTable, feed: RowRing, periodMillis: Int, metrics: MonitorMetrics,
        hotState: HotState? = nil, notSeenTotal: @escaping @Sendable () -> UInt64 = { 0 },
        trafficTotals: @escaping @Sendable () -> (arrivals: UInt64, lost: UInt64) = { (0, 0) },
        incidentSettings: IncidentDetector.Settings? = IncidentDetector.Settings(),
        views: LivenessViewHolder = LivenessViewHolder(LivenessView(source: .monitor, role: nil, takenAtMicros: 0, sequence: 0))
    ) {
        self.trafficTotals = trafficTotals
        self.incidentSettings = incidentSettings
        self.views = views
        self.notSeenTotal = notSeenTotal
        self.databaseURL = databaseURL
        self.registry = registry
        self.lastSeen = lastSeen
        self.feed = feed
        self.periodMicros = Int64(periodMillis) * 1_000
        self.metrics = metrics
        self.hotState = hotState
    }

    /// The I/O around ``MonitorCoordinator``: wakes ten times a period, reads the stored policies
    /// when the registry changed (or the coordinator asks), hands it the arrivals, and carries its
    /// actions out on PostgreSQL and Redis.
    func run() {
        var coordinator = MonitorCoordinator(
            periodMicros: periodMicros, nowMicros: WallClock.nowMicros(), notSeenTotal: notSeenTotal(), incidentSettings: incidentSettings)
        var loadedVersion: Int64 = -1
        var connection: PostgresConnection?
        let blank = HeartbeatRow(applicationID: 0, kind: .beat, instance: 0, sequence: 1, receivedAtMicros: 0, sentAtMicros: 0, status: 0)
        var scratch = [HeartbeatRow](repeating: blank, count: 4_096)
        var databaseMicros: Int64 = 0
        var published: UInt64 = 0
        var nextViewMicros: Int64 = 0
        var fullViewNeeded = false
        let lastSeen = self.lastSeen
        let latestArrival: (Int) -> Int64 = { lastSeen.entry(for: Int64($0)).receivedMicros }
        /// Publishes the readers' view: whole when one is due (or the registry was reloaded), else
        /// the previous one with `changed` applications updated. A whole view costs time in
        /// proportion to the applications, so it is built at most once per ``viewCostShare`` times
        /// its own cost: every tick for a board of ordinary size, less often for a very large one
        /// (`Spec/tuning.md`).
        func publishView(role: MonitorRole, now: Int64, changed: [Int]) {
            let base = views.view
            if now >= nextViewMicros || fullViewNeeded || base.overrideCount + changed.count > max(1_024, base.count / 16) {
                published += 1
                let started = WallClock.nowMicros()
                views.publish(coordinator.view(role: role, nowMicros: now, sequence: published, registryVersion: loadedVersion, latestArrival: latestArrival))
                nextViewMicros = now + (WallClock.nowMicros() - started) * Self.viewCostShare
                fullViewNeeded = false
            } else if !changed.isEmpty {
                published += 1
                views.publish(coordinator.view(base, updating: changed, role: role, nowMicros: now, sequence: published, latestArrival: latestArrival))
            }
        }
        while !worker.isStopRequested {
            usleep(UInt32(max(1_000, periodMicros / 10)))
            let now = WallClock.nowMicros()
            // Only the lease holder records transitions; one that just gained the lease first
            // adopts what the previous holder stored.
            let role: MonitorRole = hotState.map { $0.lease.isLeader ? .leader : $0.lease.isDegraded ? .degraded : .follower } ?? .alone
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                let snapshotVersion = registry.snapshot.version
                if snapshotVersion != loadedVersion || coordinator.needsReload {
                    // `since` costs an index probe per application (seconds at a million): read
                    // once at start; later loads adopt a changed status as of now.
                    try Self.loadPolicies(on: connection!, withSince: loadedVersion == -1) { coordinator.load($0, nowMicros: now) }
                    coordinator.finishedLoading()
                    loadedVersion = snapshotVersion
                    fullViewNeeded = true
                    databaseMicros += WallClock.nowMicros() - now
                }
            } catch {
                connection = nil
                noteFailure("reading the applications' policies", error)
                continue
            }
            // Read before the feeds are emptied: everything the sync read up to this time is then in them.
            let consistentUntil = hotState?.sync.consistentUntilMicros.load(ordering: .acquiring) ?? .max
            feedArrivals(to: &coordinator, scratch: &scratch)
            // Gathered before the clock starts: reading the kernel's drop counters is not the sweep.
            let traffic = trafficTotals()
            let input = MonitorCoordinator.TickInput(
                nowMicros: now, role: role, notSeenTotal: notSeenTotal(),
                consistentUntilMicros: consistentUntil, databaseMicros: databaseMicros,
                arrivalsTotal: traffic.arrivals, lostTotal: traffic.lost, latestArrival: latestArrival)
            let started = DispatchTime.now().uptimeNanoseconds
            let cpuStarted = WallClock.threadCPUNanos()
            let actions = coordinator.tick(input)
            let tickCPUSeconds = Double(WallClock.threadCPUNanos() - cpuStarted) / 1e9
            let tickSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            databaseMicros = 0
            // Readers see a transition before it is recorded, so one that `/transitions` shows is
            // never contradicted by a status read after it (`Spec/liveness.md`).
            publishView(role: role, now: now, changed: actions.flatMap { action -> [Int] in
                if case .recordTransitions(let transitions) = action { return transitions.map(\.applicationID) }
                return []
            })
            var adopted = [Int]()
            for action in actions {
                switch action {
                case .noteStall: metrics.stalls.wrappingIncrement(ordering: .relaxed)
                case .noteLossHold: metrics.lossHolds.wrappingIncrement(ordering: .relaxed)
                case .swept:
                    metrics.checkSeconds.record(tickSeconds)
                    metrics.checkCPUSeconds.record(tickCPUSeconds)
                case .shareInstances(let sightings): share(sightings)
                case .storeRuns(let runs):
                    guard let connection else { continue }
                    do throws(PostgresError) {
                        try Self.storeRuns(runs, on: connection)
                        coordinator.runsStored()
                    } catch {
                        noteFailure("storing finished runs", error)
                    }
                case .openIncident(let open):
                    let writeStarted = WallClock.nowMicros()
                    openIncident(open, on: connection)
                    databaseMicros += WallClock.nowMicros() - writeStarted
                case .closeIncident(_, let ending, let at):
                    let writeStarted = WallClock.nowMicros()
                    closeIncident(ending, atMicros: at, on: connection)
                    databaseMicros += WallClock.nowMicros() - writeStarted
                case .recordTransitions(let transitions):
                    guard let connection else { continue }
                    let writeStarted = WallClock.nowMicros()
                    adopted += record(transitions, heldByIncident: coordinator.openIncident == nil ? nil : incidentID, with: &coordinator, on: connection)
                    databaseMicros += WallClock.nowMicros() - writeStarted
                }
            }
            if role != .follower, coordinator.openIncident == nil, now >= nextOrphanCheckMicros {
                nextOrphanCheckMicros = now + 5_000_000
                closeIncident(.orphaned, atMicros: now, on: connection)
            }
            // After the tick's writes: statuses adopted from the database (a transition another
            // collector recorded first) are what readers see.
            publishView(role: role, now: now, changed: adopted)
        }
    }

    /// Hands the coordinator this collector's records first, then other collectors' instances and
    /// records (a run of at most `scratch.count` at a time).
    private func feedArrivals(to coordinator: inout MonitorCoordinator, scratch: inout [HeartbeatRow]) {
        while case let count = Self.pop(feed, into: &scratch), count > 0 {
            coordinator.receive(local: scratch[0..<count])
        }
        guard let hotState else { return }
        while case let count = Self.pop(hotState.remoteInstances, into: &scratch), count > 0 {
            coordinator.receive(instances: scratch[0..<count].map {
                InstanceSighting(applicationID: $0.applicationID, instance: $0.instance, atMicros: $0.receivedAtMicros)
            })
        }
        while case let count = Self.pop(hotState.remoteFeed, into: &scratch), count > 0 {
            coordinator.receive(local: [], remote: scratch[0..<count])
        }
    }

    /// Queues the instances this collector heard for the hot state's next round; a full queue
    /// drops them, counted (each is heard again at its next beat).
    private func share(_ sightings: [InstanceSighting]) {
        guard let hotState else { return }
        for sighting in sightings {
            let row = HeartbeatRow(
                applicationID: sighting.applicationID, kind: .beat, instance: sighting.instance, sequence: 0, receivedAtMicros: sighting.atMicros,
                sentAtMicros: 0, status: 0)
            if !hotState.localInstances.push(row) { hotState.metrics.instancesDropped.wrappingIncrement(ordering: .relaxed) }
        }
    }

    /// Counts a failed database round trip (retried next tick) and says what failed on standard
    /// error, at most one line every half minute (``FailureReport``).
    private func noteFailure(_ operation: String, _ error: PostgresError) {
        metrics.failures.wrappingIncrement(ordering: .relaxed)
        if let unreported = failureReport.failed(atMicros: WallClock.nowMicros()) {
            FileHandle.standardError.write(Data(FailureReport.line("monitor", operation, error, unreported: unreported).utf8))
        }
    }

    /// Building the readers' view may take at most 1/this of the monitor thread's time.
    static let viewCostShare: Int64 = 50

    /// Up to `scratch.count` rows from `ring` into `scratch`; how many.
    private static func pop(_ ring: RowRing, into scratch: inout [HeartbeatRow]) -> Int {
        scratch.withUnsafeMutableBufferPointer { ring.pop(into: $0.baseAddress!, maximum: $0.count) }
    }

    /// Records an incident that opened (or finds the one open in the cluster); the transitions
    /// recorded from now on are held for it. Without a database it holds nothing: notifying is
    /// the safe side.
    private func openIncident(_ open: IncidentDetector.Open, on connection: PostgresConnection?) {
        metrics.incidentOpenSinceMicros.store(open.openedAtMicros, ordering: .relaxed)
        metrics.incidentCause.store(IncidentDetector.Cause.allCases.firstIndex(of: open.cause) ?? -1, ordering: .relaxed)
        guard let connection else { return }
        do throws(PostgresError) {
            let (id, recorded) = try IncidentStore.open(open, on: connection)
            incidentID = id
            if recorded, let index = IncidentDetector.Cause.allCases.firstIndex(of: open.cause) {
                metrics.incidentsOpened[index].wrappingIncrement(ordering: .relaxed)
            }
        } catch {
            noteFailure("recording an incident", error)
        }
    }

    /// Closes the open incident (found in the database when this monitor did not open it) and
    /// releases what it held; a failure leaves it open in the database, and the acting monitor
    /// closes it as `orphaned` within 5 s (so held notifications are never left held).
    private func closeIncident(_ ending: IncidentDetector.Ending, atMicros: Int64, on connection: PostgresConnection?) {
        metrics.incidentOpenSinceMicros.store(0, ordering: .relaxed)
        metrics.incidentCause.store(-1, ordering: .relaxed)
        guard let connection else { return }
        do throws(PostgresError) {
            var found = incidentID
            if found == nil { found = try IncidentStore.openID(on: connection) }
            guard let id = found else { return }
            let silences = ActiveSilences(registry.snapshot, nowMicros: WallClock.nowMicros())
            let held = silences.isEmpty ? [] : try SilenceRelease.heldApplications(forIncident: id, on: connection)
            let result = try IncidentStore.close(id, ending, atMicros: atMicros, silenced: held.filter { silences.covering($0) != nil }, on: connection)
            incidentID = nil
            if result.closed {
                metrics.incidentsClosed.wrappingIncrement(ordering: .relaxed)
                metrics.incidentApplicationsReleased.wrappingIncrement(by: UInt64(result.applications), ordering: .relaxed)
            }
        } catch {
            noteFailure("closing an incident", error)
        }
    }

    /// Whether a silence of `snapshot` covers a transition's application when it happened.
    static func silenced(in snapshot: RegistrySnapshot) -> (PendingTransition) -> Bool {
        let silences = snapshot.silences
        guard !silences.isEmpty else { return { _ in false } }
        return { pending in
            guard let profile = snapshot.profiles[Int64(pending.applicationID)] else { return false }
            return silences.covering(profile, atMicros: pending.transition.atMicros) != nil
        }
    }

    /// Records `transitions`, publishes the ones won, and makes the board adopt the stored status
    /// of applications whose transition was lost (another collector recorded it, or an operator
    /// paused or resumed the application).
    /// Returns the applications whose stored status the board adopted.
    private func record(
        _ transitions: [PendingTransition], heldByIncident incident: Int64?, with coordinator: inout MonitorCoordinator, on connection: PostgresConnection
    ) -> [Int] {
        do throws(PostgresError) {
            let won = try TransitionWriter.write(
                transitions, silenced: Self.silenced(in: registry.snapshot), heldByIncident: incident, render: hotState != nil, on: connection)
            let recordedAt = WallClock.nowMicros()
            for recorded in won where [.missedInterval, .missedGrace, .runTimeout, .instancesMissing].contains(recorded.transition.reason) {
                metrics.detectionDelaySeconds.record(Double(recordedAt - recorded.transition.atMicros) / 1e6)
            }
            hotState?.publisher.publish(won.compactMap(\.payload))
            metrics.transitionsRecorded.wrappingIncrement(by: UInt64(won.count), ordering: .relaxed)
            let lost = coordinator.lost(won.map { PendingTransition(applicationID: $0.applicationID, transition: $0.transition) }, of: transitions)
            if !lost.isEmpty {
                coordinator.adopt(try Self.storedStatuses(of: lost, on: connection), nowMicros: WallClock.nowMicros())
            }
            return Array(lost)
        } catch {
            noteFailure("recording transitions", error)
            coordinator.recordingFailed()
            return []
        }
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

    /// The stored status of applications `ids`, and since when.
    private static func storedStatuses(
        of ids: Set<Int>, on connection: PostgresConnection
    ) throws(PostgresError) -> [(id: Int, status: LivenessStatus, sinceMicros: Int64?)] {
        let rows = try connection.execute(
            """
            SELECT id, status,
                   (SELECT (extract(epoch FROM max(at)) * 1000000)::bigint FROM status_change WHERE application_id = application.id) AS since_us
            FROM application WHERE id = ANY($1::int[])
            """, [PostgresConnection.arrayParameter(ids.map(String.init))])
        return rows.rows.compactMap { row in
            guard let id = row.int("id"), let text = row["status"], let status = LivenessStatus(label: text) else { return nil }
            return (id, status, row.int64("since_us"))
        }
    }

    /// Every application's policy and stored status, row by row; `withSince`: and since when it has
    /// had that status (its latest transition).
    private static func loadPolicies(
        on connection: PostgresConnection, withSince: Bool, _ each: (MonitorCoordinator.StoredApplication) -> Void
    ) throws(PostgresError) {
        // Since when: one index probe each, on status_change's (application_id, at).
        let since = withSince
            ? "(SELECT (extract(epoch FROM max(at)) * 1000000)::bigint FROM status_change WHERE application_id = application.id)"
            : "NULL::bigint"
        let query = "SELECT id, interval_ms, schedule_cron, schedule_time_zone, grace_ms, max_run_ms, down_after, up_after, min_instances, status, \(since) AS since_us FROM application"
        try connection.forEachRow(query) { row in
            guard let id = row.int("id"), let grace = row.int64("grace_ms"), let statusText = row["status"], let status = LivenessStatus(label: statusText)
            else { return }
            // A schedule the API would refuse (written straight into the table) is watched at the
            // default interval rather than never (Spec/schedules.md).
            let schedule = ScheduleSpec(row)?.cached
            let interval = Int64(row.int("interval_ms") ?? ApplicationStore.defaultIntervalMillis)
            let expectation = Expectation(intervalMillis: interval, schedule: schedule, graceMillis: grace)
            let policy = LivenessPolicy(
                expectation: expectation, maxRunMicros: row.int64("max_run_ms").map { $0 * 1_000 }, downAfter: row.int("down_after") ?? 1,
                upAfter: row.int("up_after") ?? 1, minInstances: row.int("min_instances") ?? 1)
            each((id, policy, status, row.int64("since_us")))
        }
    }
}

/// What the monitor measured.
public final class MonitorMetrics: Sendable {
    /// Time one sweep over every application took (`heartbeat_monitor_check_seconds`).
    public let checkSeconds = LatencyHistogram(bounds: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5])
    /// The monitor thread's CPU time in that sweep (`heartbeat_monitor_check_cpu_seconds`): the
    /// sweep's own cost, without the time it waited for a core.
    public let checkCPUSeconds = LatencyHistogram(bounds: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5])
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
    /// Incidents this collector opened, by cause (``IncidentDetector/Cause``), and closed.
    public let incidentsOpened = IncidentDetector.Cause.allCases.map { _ in ManagedAtomic<UInt64>(0) }
    public let incidentsClosed = ManagedAtomic<UInt64>(0)
    /// Applications named by the grouped notifications of the incidents this collector closed.
    public let incidentApplicationsReleased = ManagedAtomic<UInt64>(0)
    /// The incident open as this monitor sees it (its opening time, Unix µs; 0: none) and its cause.
    public let incidentOpenSinceMicros = ManagedAtomic<Int64>(0)
    public let incidentCause = ManagedAtomic<Int>(-1)

    public init() {}
}

extension LivenessMonitor: ThreadedService {
    var threadName: String { "heartbeat-monitor" }
    var serviceName: String { "liveness monitor" }
}
