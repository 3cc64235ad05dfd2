import Protocol

/// Every application's ``LivenessMachine``, in flat arrays indexed by `application.id`, with each
/// application's next deadline kept beside it so that a sweep over a million applications reads
/// one 8-byte word per application and touches a machine only when its deadline has passed.
///
/// One owner: the monitor thread applies records and sweeps; nothing here is shared.
public struct LivenessBoard {
    /// No deadline (a paused, new or never-timed application).
    static let never = Int64.max

    private var machines: [LivenessMachine]
    private var policies: [LivenessPolicy]
    private var nextDeadline: [Int64]
    /// How many applications are in each status (by raw value), kept as they change: the
    /// incident hold asks how many are up each tick, without a pass over the board.
    private var statusCounts = [Int](repeating: 0, count: LivenessStatus.allCases.count)

    /// A board for application ids below `capacity`, every application `new` under `defaultPolicy`.
    public init(capacity: Int, defaultPolicy: LivenessPolicy) {
        machines = Array(repeating: LivenessMachine(), count: capacity)
        policies = Array(repeating: defaultPolicy, count: capacity)
        nextDeadline = Array(repeating: Self.never, count: capacity)
        statusCounts[Int(LivenessStatus.new.rawValue)] = capacity
    }

    /// How many applications (of ``capacity``, the unregistered ones `new`) are in `status`.
    public func count(of status: LivenessStatus) -> Int { statusCounts[Int(status.rawValue)] }

    private mutating func counted(_ from: LivenessStatus, _ to: LivenessStatus) {
        guard from != to else { return }
        statusCounts[Int(from.rawValue)] -= 1
        statusCounts[Int(to.rawValue)] += 1
    }

    /// Application ids the board holds.
    public var capacity: Int { machines.count }

    /// Sets application `id`'s policy (from the registry).
    public mutating func setPolicy(_ policy: LivenessPolicy, for id: Int) {
        policies[id] = policy
        nextDeadline[id] = Self.deadline(of: machines[id], policy)
    }

    /// The state of application `id`.
    public func machine(for id: Int) -> LivenessMachine { machines[id] }

    /// Applies a record to application `id`.
    public mutating func receive(
        _ kind: RecordKind, for id: Int, atMicros: Int64, recordIntervalMillis: UInt32
    ) -> LivenessTransition? {
        let transition = machines[id].receive(kind, atMicros: atMicros, recordIntervalMillis: recordIntervalMillis, policy: policies[id])
        nextDeadline[id] = Self.deadline(of: machines[id], policies[id])
        if let transition { counted(transition.from, transition.to) }
        return transition
    }

    /// A board with room for ids below `capacity`, keeping every application's state and policy.
    public func resized(capacity newCapacity: Int, defaultPolicy: LivenessPolicy) -> LivenessBoard {
        var board = LivenessBoard(capacity: max(newCapacity, capacity), defaultPolicy: defaultPolicy)
        for id in machines.indices {
            board.machines[id] = machines[id]
            board.policies[id] = policies[id]
            board.nextDeadline[id] = nextDeadline[id]
        }
        board.statusCounts = statusCounts
        board.statusCounts[Int(LivenessStatus.new.rawValue)] += board.capacity - capacity
        return board
    }

    /// Sets application `id`'s status as stored (at start, or when the database says otherwise —
    /// an operator's pause, another collector's transition). The clock restarts from `nowMicros`
    /// for an application that is up or late, so nothing is convicted for time it was not watched.
    public mutating func adopt(status: LivenessStatus, for id: Int, nowMicros: Int64, sinceMicros: Int64? = nil) {
        guard machines[id].status != status else { return }
        counted(machines[id].status, status)
        machines[id].adopt(status, nowMicros: nowMicros, sinceMicros: sinceMicros)
        nextDeadline[id] = Self.deadline(of: machines[id], policies[id])
    }

    /// Every transition due by `nowMicros`, in application order, appended to `transitions`.
    /// `latestArrival(id)` reports a later arrival the board may not have been told about (its
    /// events can be dropped under load); it is applied as a beat before anyone is convicted.
    public mutating func sweep(
        nowMicros: Int64, latestArrival: (Int) -> Int64 = { _ in .min },
        into transitions: inout [PendingTransition]
    ) {
        for id in nextDeadline.indices where nextDeadline[id] <= nowMicros {
            let arrival = latestArrival(id)
            if arrival > machines[id].lastSeenMicros,
                let transition = machines[id].receive(
                    .beat, atMicros: arrival, recordIntervalMillis: UInt32(clamping: machines[id].recordIntervalMicros / 1_000),
                    policy: policies[id])
            {
                counted(transition.from, transition.to)
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            while let transition = machines[id].check(nowMicros: nowMicros, policy: policies[id]) {
                counted(transition.from, transition.to)
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            nextDeadline[id] = Self.deadline(of: machines[id], policies[id])
        }
    }

    /// Every application's state for readers, ids 0 up to `count` (at most ``capacity``);
    /// `latestArrival(id)` is the last-seen table's arrival (the machine's may be a restarted clock).
    public func viewColumns(count: Int, latestArrival: (Int) -> Int64) -> LivenessView.Columns {
        // Column by column: each is one tight pass (the deadlines a plain copy, `never` being the
        // view's "no deadline" too).
        let ids = 0..<min(count, capacity)
        let machines = self.machines[ids]
        return LivenessView.Columns(
            statuses: machines.map(\.status), since: machines.map(\.sinceMicros), lastArrival: ids.map(latestArrival),
            nextDeadline: Array(nextDeadline[ids]), runDuration: machines.map { $0.lastRun?.durationMicros ?? 0 },
            runEnded: machines.map { $0.lastRun?.endedMicros ?? .min })
    }

    /// Application `id`'s state for readers, as one entry of ``viewColumns(count:latestArrival:)``.
    public func viewEntry(for id: Int, latestArrival: Int64) -> LivenessView.Entry {
        let machine = machines[id]
        return LivenessView.Entry(
            status: machine.status, sinceMicros: machine.sinceMicros, lastArrivalMicros: latestArrival,
            nextDeadlineMicros: nextDeadline[id] == Self.never ? nil : nextDeadline[id], lastRun: machine.lastRun)
    }

    private static func deadline(of machine: LivenessMachine, _ policy: LivenessPolicy) -> Int64 {
        var deadline = machine.lateDeadline(policy) ?? machine.downDeadline(policy) ?? never
        if let started = machine.runStartedMicros, let maximum = policy.maxRunMicros, machine.status == .up || machine.status == .late {
            deadline = min(deadline, started + maximum)
        }
        return deadline
    }
}
