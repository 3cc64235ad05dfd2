import Protocol

/// One application as a status reader sees it: its registry profile and its liveness, both from
/// memory.
public struct LiveApplication: Equatable, Sendable {
    public let profile: ApplicationProfile
    public let status: LivenessStatus
    /// Since when it has had that status (Unix µs; nil while it never changed here).
    public let sinceMicros: Int64?
    /// Its latest arrival (Unix µs; nil before any).
    public let lastHeartbeatMicros: Int64?
    /// When it goes late, down or times out if nothing arrives (nil: no deadline).
    public let nextDeadlineMicros: Int64?
    /// Its latest closed run.
    public let lastRun: LivenessMachine.ClosedRun?
    /// The silence in force that covers it, if any (`Spec/liveness.md`, "Silences").
    public var silenceID: Int? = nil
    /// Under an instance quorum: the instances counted and needed when the view was taken.
    public var instances: LivenessView.InstanceCount? = nil
}

/// The status readers' answers — one application, a filtered page, counts by state, the worst
/// applications — computed from one registry snapshot and one liveness view, so that they agree
/// with each other and cost no database round trip. A registered application the view does not
/// hold yet (registered after the monitor's last view) is `new`.
public struct LiveStatus: Sendable {
    public let registry: RegistrySnapshot
    public let view: LivenessView
    /// The silences in force when the answer was taken.
    public let silences: ActiveSilences

    public init(registry: RegistrySnapshot, view: LivenessView, nowMicros: Int64 = WallClock.nowMicros()) {
        self.registry = registry
        self.view = view
        silences = ActiveSilences(registry, nowMicros: nowMicros)
    }

    /// The application with `uuid`, or nil when the registry has none.
    public func application(_ uuid: ApplicationUUID) -> LiveApplication? {
        guard let entry = registry.validator.applications.entry(for: uuid) else { return nil }
        return application(id: Int(entry.applicationID))
    }

    /// Application `id`, or nil when the registry has none.
    public func application(id: Int) -> LiveApplication? {
        guard let profile = registry.profiles[Int64(id)] else { return nil }
        let silenceID = silences.covering(profile)?.id
        guard let entry = view[id] else {
            return LiveApplication(
                profile: profile, status: .new, sinceMicros: nil, lastHeartbeatMicros: nil, nextDeadlineMicros: nil, lastRun: nil, silenceID: silenceID)
        }
        return LiveApplication(
            profile: profile, status: entry.status, sinceMicros: entry.sinceMicros == .min ? nil : entry.sinceMicros,
            // The last-seen table says 0 for an application never heard from.
            lastHeartbeatMicros: entry.lastArrivalMicros <= 0 ? nil : entry.lastArrivalMicros, nextDeadlineMicros: entry.nextDeadlineMicros,
            lastRun: entry.lastRun, silenceID: silenceID, instances: entry.instances)
    }

    /// Application `id`'s status (`new` when the view does not hold it yet).
    public func status(of id: Int) -> LivenessStatus {
        view[id]?.status ?? .new
    }

    /// Applications in id order after `afterID`, at most `limit`, optionally only those in
    /// `status` and whose name starts with `namePrefix`; `nextAfterID` is where the next page
    /// starts (nil on the last page).
    public func page(status: LivenessStatus?, namePrefix: String?, afterID: Int, limit: Int) -> (applications: [LiveApplication], nextAfterID: Int?) {
        let prefix = namePrefix.map { Array($0.utf8) }
        var found = [LiveApplication]()
        var id = max(0, afterID + 1)
        let end = registry.profiles.idLimit
        while id < end {
            defer { id += 1 }
            guard registry.profiles.contains(id) else { continue }
            if let status, self.status(of: id) != status { continue }
            if let prefix, !registry.profiles.name(of: id, hasPrefix: prefix) { continue }
            guard found.count < limit else { return (found, found.last.map { Int($0.profile.applicationID) }) }
            if let application = application(id: id) { found.append(application) }
        }
        return (found, nil)
    }

    /// Enabled applications by status (every status present, zero when none).
    public func counts() -> [LivenessStatus: Int] {
        var counts = [Int](repeating: 0, count: LivenessStatus.allCases.count)
        for id in 0..<registry.profiles.idLimit where registry.profiles.isEnabled(id) {
            counts[Int(status(of: id).rawValue)] += 1
        }
        return Dictionary(uniqueKeysWithValues: LivenessStatus.allCases.map { ($0, counts[Int($0.rawValue)]) })
    }

    /// The order the status page lists states in: the ones that need a person first.
    public static let worstFirst: [LivenessStatus] = [.down, .late, .short, .new, .paused, .up]

    /// Up to `limit` enabled applications, worst state first (``worstFirst``), then by name; only
    /// `status` when given.
    public func worst(limit: Int, status: LivenessStatus? = nil) -> [LiveApplication] {
        var byStatus = [[Int]](repeating: [], count: LivenessStatus.allCases.count)
        for id in 0..<registry.profiles.idLimit where registry.profiles.isEnabled(id) {
            let state = self.status(of: id)
            if status == nil || status == state { byStatus[Int(state.rawValue)].append(id) }
        }
        var chosen = [LiveApplication]()
        for state in Self.worstFirst where chosen.count < limit {
            let ids = byStatus[Int(state.rawValue)]
            let wanted = limit - chosen.count
            // Only the names that can be shown are sorted in full: a bounded selection first when
            // a state holds many more than fit.
            let shown = ids.count <= wanted ? ids.sorted(by: registry.profiles.nameOrder) : smallest(wanted, of: ids)
            chosen += shown.compactMap { application(id: $0) }
        }
        return chosen
    }

    /// The `count` ids of `ids` whose names sort first, in order.
    private func smallest(_ count: Int, of ids: [Int]) -> [Int] {
        var kept = [Int]()
        kept.reserveCapacity(count + 1)
        let before = registry.profiles.nameOrder
        for id in ids {
            if kept.count == count, let last = kept.last, !before(id, last) { continue }
            let position = kept.partitioningIndexByName(id, before)
            kept.insert(id, at: position)
            if kept.count > count { kept.removeLast() }
        }
        return kept
    }
}

extension [Int] {
    /// Where `id` goes in this array, kept sorted by `before`.
    fileprivate func partitioningIndexByName(_ id: Int, _ before: (Int, Int) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if before(self[middle], id) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
