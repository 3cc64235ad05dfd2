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
    /// The instances of each application whose `min_instances` is above 1.
    private var quorums = QuorumTable()
    /// Records' moves into `short`, held until the sweep (``holdingShort(_:for:)``).
    private var heldShort = [Int: LivenessTransition]()
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

    /// Sets application `id`'s policy (from the registry) at `nowMicros` (default: its latest
    /// arrival). A new or changed `min_instances` is judged at the next sweep, after the instances
    /// have had an interval + grace to be heard.
    public mutating func setPolicy(_ policy: LivenessPolicy, for id: Int, nowMicros: Int64? = nil) {
        let quorumChanged = policy.minInstances != policies[id].minInstances
        policies[id] = policy
        if policy.minInstances > 1 {
            quorums.insertIfAbsent(InstanceQuorum(minimum: Int(policy.minInstances)), for: id)
            quorums.update(id) { $0.setMinimum(Int(policy.minInstances)) }
            if quorumChanged, machines[id].isUp { startWatching(id, fromMicros: max(machines[id].lastSeenMicros, nowMicros ?? .min)) }
        } else {
            quorums.remove(id)
        }
        // A judgement already due at the next sweep stays due.
        nextDeadline[id] = (quorumChanged && machines[id].isUp) || nextDeadline[id] == .min ? .min : deadline(of: id)
    }

    /// Application `id`'s instances have one interval + grace from `fromMicros` to be heard
    /// before the quorum is judged on them (``InstanceQuorum/watchedUntil``).
    private mutating func startWatching(_ id: Int, fromMicros: Int64, recordIntervalMicros: Int64? = nil) {
        guard quorums.contains(id) else { return }
        let until = policies[id].expectation.deadlines(
            afterArrivalMicros: fromMicros, recordIntervalMicros: recordIntervalMicros ?? machines[id].recordIntervalMicros)?.down
        quorums.update(id) { $0.startWatching(untilMicros: until ?? .min) }
    }

    /// Application `id`'s instances, when its `min_instances` is above 1.
    public func quorum(for id: Int) -> InstanceQuorum? { quorums[id] }

    /// The state of application `id`.
    public func machine(for id: Int) -> LivenessMachine { machines[id] }

    /// Applies a record to application `id`, from `instance` when known (a remote last-seen time
    /// names none). Under a quorum, a `stop` that leaves other instances counted is no pause: it
    /// counts as a record of the application.
    public mutating func receive(
        _ kind: RecordKind, for id: Int, atMicros: Int64, recordIntervalMillis: UInt32, instance: UInt32? = nil
    ) -> LivenessTransition? {
        var kind = kind
        var quorumMet = true
        if quorums.contains(id) {
            // Heard again after a silence, a pause or for the first time: the others get their
            // interval + grace to report too.
            if !machines[id].isUp, kind != .stop {
                startWatching(id, fromMicros: atMicros, recordIntervalMicros: Int64(recordIntervalMillis) * 1_000)
            }
            let expiry = policies[id].expectation.deadlines(
                afterArrivalMicros: atMicros, recordIntervalMicros: Int64(recordIntervalMillis) * 1_000)?.down ?? .max
            let stopping = kind == .stop
            var othersCount = false
            quorumMet = quorums.update(id) { quorum in
                if let instance, stopping {
                    othersCount = quorum.stopped(instance, atMicros: atMicros)
                } else if let instance {
                    quorum.heard(instance, atMicros: atMicros, expiresAtMicros: expiry)
                }
                return quorum.isMet(atMicros: atMicros)
            } ?? true
            if stopping, instance != nil, othersCount { kind = .beat }
        }
        let transition = machines[id].receive(
            kind, atMicros: atMicros, recordIntervalMillis: recordIntervalMillis, policy: policies[id], quorumMet: quorumMet)
        if let transition { counted(transition.from, transition.to) }
        nextDeadline[id] = deadline(of: id)
        guard let transition, quorums.contains(id) || heldShort[id] != nil else { return transition }
        return holdingShort(transition, for: id)
    }

    /// Under a quorum, a record's move into `short` is held until the sweep judges the instances
    /// as of the time every collector's arrivals are in (a leader sweeps only up to then), so an
    /// instance heard at another collector a moment earlier is never missed. A later record's
    /// transition merges with a held one: the application moves once, from where it was stored.
    private mutating func holdingShort(_ transition: LivenessTransition, for id: Int) -> LivenessTransition? {
        if let held = heldShort[id] {
            heldShort[id] = nil
            nextDeadline[id] = deadline(of: id)
            guard held.from != transition.to else { return nil }
            return LivenessTransition(
                from: held.from, to: transition.to, atMicros: transition.atMicros,
                reason: transition.reason == .instancesReturned ? held.reason : transition.reason, runDurationMicros: transition.runDurationMicros)
        }
        guard transition.to == .short else { return transition }
        heldShort[id] = transition
        nextDeadline[id] = deadline(of: id)
        return nil
    }

    /// Instance `instance` of application `id` was heard at `atMicros` at another collector (its
    /// record itself reaches the board as a last-seen time, or as an event).
    public mutating func heard(_ instance: UInt32, for id: Int, atMicros: Int64) {
        guard quorums.contains(id) else { return }
        let expiry = policies[id].expectation.deadlines(
            afterArrivalMicros: atMicros, recordIntervalMicros: machines[id].recordIntervalMicros)?.down ?? .max
        quorums.update(id) { $0.heard(instance, atMicros: atMicros, expiresAtMicros: expiry) }
        // Judged at the next sweep: this may meet the quorum again.
        if machines[id].status == .short { nextDeadline[id] = .min }
    }

    /// A board with room for ids below `capacity`, keeping every application's state and policy.
    public func resized(capacity newCapacity: Int, defaultPolicy: LivenessPolicy) -> LivenessBoard {
        var board = LivenessBoard(capacity: max(newCapacity, capacity), defaultPolicy: defaultPolicy)
        for id in machines.indices {
            board.machines[id] = machines[id]
            board.policies[id] = policies[id]
            board.nextDeadline[id] = nextDeadline[id]
        }
        board.quorums = quorums
        board.heldShort = heldShort
        board.statusCounts = statusCounts
        board.statusCounts[Int(LivenessStatus.new.rawValue)] += board.capacity - capacity
        return board
    }

    /// Sets application `id`'s status as stored (at start, or when the database says otherwise —
    /// an operator's pause, another collector's transition). The clock restarts from `nowMicros`
    /// for an application that is up or late, so nothing is convicted for time it was not watched.
    public mutating func adopt(status: LivenessStatus, for id: Int, nowMicros: Int64, sinceMicros: Int64? = nil) {
        // A move into short held for the sweep is still to come from the status it was stored in.
        if let held = heldShort[id] {
            guard held.from != status else { return }
            heldShort[id] = nil
        }
        guard machines[id].status != status else { return }
        counted(machines[id].status, status)
        machines[id].adopt(status, nowMicros: nowMicros, sinceMicros: sinceMicros)
        // Under a quorum, the instances get an interval + grace from now to be heard (a restarted
        // collector knows none), and the next sweep checks the adopted status against them.
        guard quorums.contains(id), machines[id].isUp else {
            nextDeadline[id] = deadline(of: id)
            return
        }
        startWatching(id, fromMicros: nowMicros)
        nextDeadline[id] = .min
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
                    policy: policies[id], quorumMet: quorums[id]?.isMet(atMicros: arrival) ?? true)
            {
                counted(transition.from, transition.to)
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            if let transition = releaseHeldEntry(of: id, nowMicros: nowMicros) {
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            while let transition = machines[id].check(nowMicros: nowMicros, policy: policies[id]) {
                counted(transition.from, transition.to)
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            if machines[id].isUp, heldShort.isEmpty || heldShort[id] == nil, let transition = judgeQuorum(of: id, nowMicros: nowMicros) {
                counted(transition.from, transition.to)
                transitions.append(PendingTransition(applicationID: id, transition: transition))
            }
            nextDeadline[id] = deadline(of: id)
        }
    }

    /// A held move into `short` (``holdingShort(_:for:)``), judged at `nowMicros`: into `up` when
    /// the instances heard by then meet the quorum, else into `short` as held.
    private mutating func releaseHeldEntry(of id: Int, nowMicros: Int64) -> LivenessTransition? {
        guard !heldShort.isEmpty, let held = heldShort[id], nowMicros >= held.atMicros else { return nil }
        heldShort[id] = nil
        guard quorums.update(id, { $0.settle(atMicros: nowMicros).met }) ?? true, let up = machines[id].quorumChanged(met: true, atMicros: held.atMicros) else { return held }
        counted(up.from, up.to)
        return held.from == .up ? nil : LivenessTransition(from: held.from, to: .up, atMicros: held.atMicros, reason: held.reason)
    }

    /// `up` ↔ `short` for application `id` as its instances stand at `nowMicros`: short from the
    /// moment the quorum was lost, up again as soon as it is met (an application whose
    /// `min_instances` went back to 1 is up).
    private mutating func judgeQuorum(of id: Int, nowMicros: Int64) -> LivenessTransition? {
        guard let (met, lostAt) = quorums.update(id, { $0.settle(atMicros: nowMicros) }) else { return machines[id].quorumChanged(met: true, atMicros: nowMicros) }
        return machines[id].quorumChanged(met: met, atMicros: met ? nowMicros : lostAt ?? nowMicros)
    }

    /// Every application's state for readers, ids 0 up to `count` (at most ``capacity``);
    /// `latestArrival(id)` is the last-seen table's arrival (the machine's may be a restarted clock);
    /// instances under a quorum are counted as of `nowMicros`.
    public func viewColumns(count: Int, nowMicros: Int64 = .min, latestArrival: (Int) -> Int64) -> LivenessView.Columns {
        // Column by column: each is one tight pass (the deadlines a plain copy, `never` being the
        // view's "no deadline" too).
        let ids = 0..<min(count, capacity)
        let machines = self.machines[ids]
        return LivenessView.Columns(
            statuses: machines.map(\.status), since: machines.map(\.sinceMicros), lastArrival: ids.map(latestArrival),
            nextDeadline: Array(nextDeadline[ids]), runDuration: machines.map { $0.lastRun?.durationMicros ?? 0 },
            runEnded: machines.map { $0.lastRun?.endedMicros ?? .min },
            instances: instanceCounts(below: ids.upperBound, nowMicros: nowMicros))
    }

    private func instanceCounts(below limit: Int, nowMicros: Int64) -> [Int: LivenessView.InstanceCount] {
        var counts = [Int: LivenessView.InstanceCount]()
        quorums.forEach(below: limit) { counts[$0] = instanceCount($1, nowMicros: nowMicros) }
        return counts
    }

    private func instanceCount(_ quorum: InstanceQuorum, nowMicros: Int64) -> LivenessView.InstanceCount {
        LivenessView.InstanceCount(counted: quorum.counted(atMicros: nowMicros), needed: quorum.needed)
    }

    /// Application `id`'s state for readers, as one entry of ``viewColumns(count:latestArrival:)``.
    public func viewEntry(for id: Int, nowMicros: Int64 = .min, latestArrival: Int64) -> LivenessView.Entry {
        let machine = machines[id]
        return LivenessView.Entry(
            status: machine.status, sinceMicros: machine.sinceMicros, lastArrivalMicros: latestArrival,
            nextDeadlineMicros: LivenessView.deadline(nextDeadline[id]), lastRun: machine.lastRun,
            instances: quorums[id].map { instanceCount($0, nowMicros: nowMicros) })
    }

    /// When application `id` must next be looked at: its late or down deadline, the end of an
    /// open run's maximum, or (while up under a quorum) the moment an instance stops counting.
    private func deadline(of id: Int) -> Int64 {
        let machine = machines[id]
        let policy = policies[id]
        var deadline = machine.lateDeadline(policy) ?? machine.downDeadline(policy) ?? Self.never
        if let started = machine.runStartedMicros, let maximum = policy.maxRunMicros, machine.isUp || machine.status == .late {
            deadline = min(deadline, started + maximum)
        }
        if machine.isUp, let expiry = quorums[id]?.nextExpiry { deadline = min(deadline, expiry) }
        if !heldShort.isEmpty, let held = heldShort[id] { deadline = min(deadline, held.atMicros) }
        return deadline
    }
}
