import Protocol

/// Who records transitions this tick.
public enum MonitorRole: String, Equatable, Sendable {
    /// No Redis: this monitor decides alone (PostgreSQL still makes each transition once).
    case alone
    /// Holds the lease: records every transition.
    case leader
    /// Another collector leads: keeps its board current, records nothing.
    case follower
    /// Redis unreachable: records transitions of applications whose latest record it received.
    case degraded
}

/// A transition the monitor decided, for one application.
public struct PendingTransition: Equatable, Sendable {
    public let applicationID: Int
    public let transition: LivenessTransition

    public init(applicationID: Int, transition: LivenessTransition) {
        self.applicationID = applicationID
        self.transition = transition
    }
}

/// What the monitor's shell does after a tick, in order.
public enum MonitorAction: Equatable, Sendable {
    /// The wake-up came more than two periods late (the process stalled): count it.
    case noteStall
    /// Arrivals were lost for liveness since the last tick: count the hold.
    case noteLossHold
    /// Every deadline was checked (the shell times the tick for `heartbeat_monitor_check_seconds`).
    case swept
    /// Store each application's latest closed run (`application.last_run_*`).
    case storeRuns([Int: LivenessMachine.ClosedRun])
    /// An incident opened (or this monitor became the one acting while one is open): record it,
    /// and hold the notifications of the transitions recorded until it closes (``IncidentDetector``).
    case openIncident(IncidentDetector.Open)
    /// The incident closed: record that, and release what is still down as one grouped
    /// notification per channel. Comes before this tick's transitions, which are not held.
    case closeIncident(IncidentDetector.Open, IncidentDetector.Ending, atMicros: Int64)
    /// Record these transitions in PostgreSQL, in this order (``TransitionWriter``).
    case recordTransitions([PendingTransition])
    /// Share with the other collectors which instances of applications under a quorum this one
    /// heard, and when (the latest per instance since the last tick; through the hot state).
    case shareInstances([InstanceSighting])
}

/// An instance of an application heard at a time: what collectors share of applications under an
/// instance quorum (``InstanceQuorum``).
public struct InstanceSighting: Equatable, Sendable {
    public let applicationID: Int32
    public let instance: UInt32
    public let atMicros: Int64

    public init(applicationID: Int32, instance: UInt32, atMicros: Int64) {
        self.applicationID = applicationID
        self.instance = instance
        self.atMicros = atMicros
    }
}

/// The liveness monitor's decisions, as a value: it owns the board of every application's
/// machine and says, each tick, what to record — with no thread, clock, socket or SQL of its own
/// (``LivenessMonitor`` is the shell that feeds it and carries its actions out).
///
/// Per tick: ``receive(local:remote:)`` applies this collector's arrivals, then other collectors'
/// (a remote beat the board already has adds nothing); ``tick(_:)`` then guards, sweeps and filters
/// by role, and says what to do:
/// - **Stall guard**: a wake-up more than two periods after the last one, not counting the shell's
///   own time on PostgreSQL, means the process stalled: nobody is convicted until one clean period
///   has passed, so a stalled collector never marks applications that kept sending late or down.
/// - **Loss hold**: while arrivals are being lost for liveness (the receivers could neither queue
///   nor record them), nobody is convicted; convictions resume one clean period after the last loss.
/// - **Sweep**: a leader judges deadlines only up to the time every other live collector's
///   arrivals have reached it (``TickInput/consistentUntilMicros``).
/// - **Incident hold**: every monitor feeds its ``IncidentDetector`` each tick (how many are up,
///   how many went late, the collector's arrival and loss totals); the one acting records the
///   incidents it opens and closes, and while one is open the transitions it records are held.
/// - **Roles**: a follower records nothing and keeps what it decided for ``pendingHorizonMicros``;
///   when it becomes the one acting (leader, degraded, alone) it records those first — the
///   conditional UPDATE skips any its predecessor recorded — then reloads the stored statuses. A
///   degraded monitor records only applications whose latest record it received itself.
public struct MonitorCoordinator {
    /// How long a follower keeps the transitions it computed: longer than a take-over takes.
    public static let pendingHorizonMicros: Int64 = 10_000_000

    /// The policy of an application the registry has not described yet.
    public static let defaultPolicy = LivenessPolicy(intervalMicros: 60_000_000, graceMicros: 30_000_000)

    /// One tick's input.
    public struct TickInput {
        public var nowMicros: Int64
        public var role: MonitorRole
        /// Validated arrivals lost for liveness so far (a running total).
        public var notSeenTotal: UInt64
        /// Every arrival at another live collector before this time has reached this one (leader only).
        public var consistentUntilMicros: Int64
        /// Time the shell spent waiting on PostgreSQL since the last tick (its own work, not a stall).
        public var databaseMicros: Int64
        /// The latest arrival the last-seen table holds for an application (the board's events can
        /// be dropped under load; last-seen never is).
        public var latestArrival: (Int) -> Int64
        /// Running totals of records that reached this collector, and of records it lost before
        /// the monitor could see them (kernel drops on the port, rings overflowing).
        public var arrivalsTotal: UInt64
        public var lostTotal: UInt64

        public init(
            nowMicros: Int64, role: MonitorRole, notSeenTotal: UInt64 = 0, consistentUntilMicros: Int64 = .max, databaseMicros: Int64 = 0,
            arrivalsTotal: UInt64 = 0, lostTotal: UInt64 = 0, latestArrival: @escaping (Int) -> Int64 = { _ in .min }
        ) {
            self.arrivalsTotal = arrivalsTotal
            self.lostTotal = lostTotal
            self.nowMicros = nowMicros
            self.role = role
            self.notSeenTotal = notSeenTotal
            self.consistentUntilMicros = consistentUntilMicros
            self.databaseMicros = databaseMicros
            self.latestArrival = latestArrival
        }
    }

    /// Every application's machine.
    public private(set) var board = LivenessBoard(capacity: 16, defaultPolicy: defaultPolicy)
    private let periodMicros: Int64
    private var previousWakeMicros: Int64
    /// Nobody is convicted before this time (start-up, a stall, a loss of arrivals).
    public private(set) var convictAfterMicros: Int64
    private var previousRole = MonitorRole.follower
    private var notSeenAtLastTick: UInt64
    /// A follower's decisions, kept for when it takes over (oldest first).
    public private(set) var pending = [PendingTransition]()
    /// Whether each application's latest record, as far as the board knows, came to this collector.
    private var heardHereLast = [Bool]()
    /// Runs closed by records this collector received, not yet stored.
    private var runsClosed = [Int: LivenessMachine.ClosedRun]()
    /// Whether the stored statuses must be read again before the next tick.
    public private(set) var needsReload = true
    private var transitions = [PendingTransition]()
    /// The highest application id registered or heard from (the board holds room beyond it).
    private var highestID = 0
    /// The incident hold (nil: off).
    private var incidents: IncidentDetector?
    /// Beats of applications under a quorum this collector heard since the last tick, the latest
    /// per (application, instance): shared with the other collectors.
    private var sightings = [UInt64: InstanceSighting]()

    /// The incident in progress, if any: the transitions recorded meanwhile are held.
    public var openIncident: IncidentDetector.Open? { incidents?.open }

    /// A coordinator that starts at `nowMicros` and watches one period before it convicts anyone
    /// (start-up counts as a gap: the board has not heard anybody yet).
    public init(
        periodMicros: Int64, nowMicros: Int64, notSeenTotal: UInt64 = 0, incidentSettings: IncidentDetector.Settings? = IncidentDetector.Settings()
    ) {
        incidents = incidentSettings.map { IncidentDetector(settings: $0) }
        self.periodMicros = periodMicros
        previousWakeMicros = nowMicros
        convictAfterMicros = nowMicros + periodMicros
        notSeenAtLastTick = notSeenTotal
    }

    /// One application as the registry stores it: its policy, its status and since when (if known).
    public typealias StoredApplication = (id: Int, policy: LivenessPolicy, status: LivenessStatus, sinceMicros: Int64?)

    /// Loads the registry's policies and stored statuses, after start, a registry change, a
    /// hand-over or a failed write.
    public mutating func loadPolicies(_ rows: [StoredApplication], nowMicros: Int64) {
        for row in rows { load(row, nowMicros: nowMicros) }
        finishedLoading()
    }

    /// One row of a load, as it is read (a million rows are never held at once); then
    /// ``finishedLoading()``.
    public mutating func load(_ row: StoredApplication, nowMicros: Int64) {
        grow(to: row.id)
        board.setPolicy(row.policy, for: row.id, nowMicros: nowMicros)
        board.adopt(status: row.status, for: row.id, nowMicros: nowMicros, sinceMicros: row.sinceMicros)
    }

    /// Every row of a load was given to ``load(_:nowMicros:)``.
    public mutating func finishedLoading() {
        needsReload = false
    }

    /// The board as readers see it (``LivenessView``), with arrivals from the last-seen table.
    public func view(role: MonitorRole, nowMicros: Int64, sequence: UInt64, registryVersion: Int64 = -1, latestArrival: (Int) -> Int64) -> LivenessView {
        LivenessView(
            source: .monitor, role: role, takenAtMicros: nowMicros, sequence: sequence, registryVersion: registryVersion,
            columns: board.viewColumns(count: highestID + 1, nowMicros: nowMicros, latestArrival: latestArrival))
    }

    /// `base` with the current state of applications `ids` on top: what the shell publishes
    /// between two full views of a very large board, so that a transition is visible to readers
    /// before it is recorded.
    public func view(
        _ base: LivenessView, updating ids: some Sequence<Int>, role: MonitorRole, nowMicros: Int64, sequence: UInt64, latestArrival: (Int) -> Int64
    ) -> LivenessView {
        var entries = [Int: LivenessView.Entry]()
        for id in ids where id < board.capacity { entries[id] = board.viewEntry(for: id, nowMicros: nowMicros, latestArrival: latestArrival(id)) }
        return LivenessView(base, overriding: entries, role: role, takenAtMicros: nowMicros, sequence: sequence)
    }

    /// The registry changed: its policies are read again before the next tick.
    public mutating func registryChanged() { needsReload = true }

    /// Applies the records that arrived since the last tick: `local` ones this collector received
    /// (oldest first), `remote` ones other collectors did (through Redis). Their transitions are
    /// decided by the next ``tick(_:)``.
    public mutating func receive(local: ArraySlice<HeartbeatRow>, remote: ArraySlice<HeartbeatRow> = []) {
        for row in local {
            let id = Int(row.applicationID)
            grow(to: id)
            if let transition = board.receive(
                row.kind, for: id, atMicros: row.receivedAtMicros, recordIntervalMillis: row.intervalMillis, instance: row.instance)
            {
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            // Other records travel between collectors with their instance; a beat only as a time.
            if row.kind == .beat, board.quorum(for: id) != nil {
                sightings[row.instanceKey] = InstanceSighting(
                    applicationID: row.applicationID, instance: row.instance, atMicros: row.receivedAtMicros)
            }
            mark(id, heardHere: true)
            if row.kind == .success || row.kind == .fail, let run = board.machine(for: id).lastRun, run.endedMicros == row.receivedAtMicros {
                runsClosed[id] = run
            }
        }
        for row in remote {
            let id = Int(row.applicationID)
            grow(to: id)
            // A remote last-seen time the board already has (the record itself came through the
            // stream, or here) adds nothing; a `fail` must not be undone by it. A time names no
            // instance; the other records do.
            if row.kind == .beat, row.receivedAtMicros <= board.machine(for: id).lastSeenMicros { continue }
            if let transition = board.receive(
                row.kind, for: id, atMicros: row.receivedAtMicros, recordIntervalMillis: row.intervalMillis,
                instance: row.kind == .beat ? nil : row.instance)
            {
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            mark(id, heardHere: false)
        }
    }

    /// Instances other collectors heard (applications under a quorum); apply before their
    /// applications' times (``receive(local:remote:)``), so a time finds its instance counted.
    public mutating func receive(instances: some Sequence<InstanceSighting>) {
        for sighting in instances where Int(sighting.applicationID) < board.capacity {
            board.heard(sighting.instance, for: Int(sighting.applicationID), atMicros: sighting.atMicros)
        }
    }

    /// Decides one tick; the shell carries the actions out in order, then reports back with
    /// ``runsStored()``, ``lost(_:of:)`` and ``adopt(_:nowMicros:)``, or ``recordingFailed()``.
    public mutating func tick(_ input: TickInput) -> [MonitorAction] {
        var actions = [MonitorAction]()
        defer { transitions.removeAll(keepingCapacity: true) }
        let role = input.role
        let becameActing = role != previousRole && role != .follower
        previousRole = role
        let now = input.nowMicros
        let gap = now - previousWakeMicros - input.databaseMicros
        previousWakeMicros = now
        if gap > 2 * periodMicros {
            convictAfterMicros = now + periodMicros
            actions.append(.noteStall)
        }
        if input.notSeenTotal != notSeenAtLastTick {
            notSeenAtLastTick = input.notSeenTotal
            convictAfterMicros = max(convictAfterMicros, now + periodMicros)
            actions.append(.noteLossHold)
        }
        if now >= convictAfterMicros {
            let judgedUntil = role == .leader ? min(now, input.consistentUntilMicros) : now
            board.sweep(nowMicros: judgedUntil, latestArrival: input.latestArrival, into: &transitions)
            actions.append(.swept)
        }
        let acting = role != .follower
        if incidents != nil {
            let wentLate = transitions.reduce(0) { $0 + ($1.transition.reason == .missedInterval ? 1 : 0) }
            let change = incidents?.observe(.init(
                nowMicros: now, upCount: board.count(of: .up) + board.count(of: .short), wentLate: wentLate, arrivalsTotal: input.arrivalsTotal, lostTotal: input.lostTotal))
            switch change {
            case .opened(let open) where acting: actions.append(.openIncident(open))
            case .closed(let open, let ending, let at) where acting: actions.append(.closeIncident(open, ending, atMicros: at))
            case nil where becameActing: if let open = incidents?.open { actions.append(.openIncident(open)) }
            default: break
            }
        }
        switch role {
        case .alone, .leader, .degraded:
            if becameActing {
                transitions = pending + transitions
                pending.removeAll()
                needsReload = true  // after this tick's write: adopt what the predecessor stored
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
        if !runsClosed.isEmpty {
            actions.append(.storeRuns(runsClosed))
        }
        if !sightings.isEmpty {
            if role != .alone { actions.append(.shareInstances(Array(sightings.values))) }
            sightings.removeAll(keepingCapacity: true)
        }
        if !transitions.isEmpty {
            actions.append(.recordTransitions(transitions))
        }
        return actions
    }

    /// The runs of a ``MonitorAction/storeRuns(_:)`` were stored.
    public mutating func runsStored() {
        runsClosed.removeAll(keepingCapacity: true)
    }

    /// Of `attempted`, PostgreSQL recorded `won`; returns the applications whose stored status was
    /// not what the board expected (another collector recorded the change, or an operator paused
    /// or resumed it): the shell reads their stored statuses and hands them to ``adopt(_:nowMicros:)``.
    public func lost(_ won: [PendingTransition], of attempted: [PendingTransition]) -> Set<Int> {
        guard won.count < attempted.count else { return [] }
        let wonKeys = Set(won.map { Key($0) })
        return Set(attempted.filter { !wonKeys.contains(Key($0)) }.map(\.applicationID))
    }

    /// Makes the board agree with stored statuses (and since when, if known).
    public mutating func adopt(_ statuses: [(id: Int, status: LivenessStatus, sinceMicros: Int64?)], nowMicros: Int64) {
        for (id, status, since) in statuses where id < board.capacity {
            board.adopt(status: status, for: id, nowMicros: nowMicros, sinceMicros: since)
        }
    }

    /// A write failed: the board moved on but the database did not, so the stored statuses are
    /// read again.
    public mutating func recordingFailed() { needsReload = true }

    private struct Key: Hashable {
        let applicationID: Int
        let atMicros: Int64
        let to: LivenessStatus
        init(_ pending: PendingTransition) {
            applicationID = pending.applicationID
            atMicros = pending.transition.atMicros
            to = pending.transition.to
        }
    }

    private mutating func grow(to id: Int) {
        highestID = max(highestID, id)
        if id >= board.capacity { board = board.resized(capacity: id * 2, defaultPolicy: Self.defaultPolicy) }
    }

    private mutating func mark(_ id: Int, heardHere: Bool) {
        if id >= heardHereLast.count { heardHereLast += Array(repeating: false, count: id + 1 - heardHereLast.count) }
        heardHereLast[id] = heardHere
    }
}
