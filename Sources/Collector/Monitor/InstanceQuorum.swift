/// The instances of one application with a `min_instances` above 1, as a plain value: which of
/// them count now, and whether they are enough (`Spec/liveness.md`, "Instance quorum").
///
/// - An instance (the record's `instance`) counts from its record until the down deadline that
///   record would have alone (interval: arrival + interval + grace), so one killed instance leaves
///   the count within one interval + grace of its last record.
/// - Instances report once an interval, so one not heard yet is missing only after a whole
///   interval + grace of watching: from the moment watching starts (the monitor loads the
///   application, or it is heard again after a silence, a pause or before its first record) the
///   quorum counts as met until ``watchedUntil``. Instances started a few seconds apart, or a
///   collector restarted, never make an application `short` by themselves.
/// - A `stop` takes its instance out of the count at once and *excuses* one place: the quorum
///   needed is `min_instances` less the excused places (at least 1). The next instance not counted
///   before fills an excused place again. So a rolling restart — each instance stops, and its
///   successor starts under a new instance id — never runs short, and an instance stopped on
///   purpose is not missed; a crashed one is.
/// - The application is paused only when a `stop` leaves no instance counted.
/// - At most ``capacity`` instances are tracked: more already meet any quorum (`min_instances` is
///   at most 1,000), and the collector limits instances per application before the monitor
///   (`--app-max-instances`). They are kept in a small array, not a dictionary: a few per
///   application, scanned in place, so a sweep that finds thousands of applications losing an
///   instance allocates nothing for them.
public struct InstanceQuorum: Equatable, Sendable {
    /// An instance that counts, and when it stops counting (Unix µs; `Int64.max`: never).
    public struct Counted: Equatable, Sendable {
        public let instance: UInt32
        public var expiresAt: Int64
    }

    /// The instances that count (or did, until the next ``settle(atMicros:)``), in no order.
    public private(set) var instances: [Counted] = []
    /// Places excused by `stop` records and not filled again (at most `minimum`).
    public private(set) var excused = 0
    /// `min_instances`.
    public private(set) var minimum: Int
    /// Until when the quorum counts as met whatever was heard: the end of the first interval +
    /// grace of watching (`Int64.min`: watched long enough).
    public private(set) var watchedUntil = Int64.min

    /// How many instances are tracked at most.
    public static let capacity = 2_048

    public init(minimum: Int) {
        self.minimum = max(1, minimum)
    }

    /// Takes a new `min_instances`, keeping the instances heard.
    public mutating func setMinimum(_ minimum: Int) {
        self.minimum = max(1, minimum)
        excused = min(excused, self.minimum)
    }

    /// Watching starts now: the instances have until `untilMicros` (one interval + grace) to be heard.
    public mutating func startWatching(untilMicros: Int64) {
        watchedUntil = untilMicros
    }

    /// How many instances must count for the quorum: `min_instances` less the excused places.
    public var needed: Int { max(1, minimum - excused) }

    /// How many instances count at `nowMicros`.
    public func counted(atMicros nowMicros: Int64) -> Int {
        instances.reduce(0) { $0 + ($1.expiresAt > nowMicros ? 1 : 0) }
    }

    /// Whether the quorum is met at `nowMicros`: enough instances count, or they still have time
    /// to be heard.
    public func isMet(atMicros nowMicros: Int64) -> Bool { nowMicros < watchedUntil || counted(atMicros: nowMicros) >= needed }

    /// The earliest time the quorum may change by itself: a counted instance stops counting, or
    /// the watching time ends (nil: neither will).
    public var nextExpiry: Int64? {
        var earliest = watchedUntil == .min ? Int64.max : watchedUntil
        for counted in instances where counted.expiresAt < earliest { earliest = counted.expiresAt }
        return earliest == .max ? nil : earliest
    }

    /// Instance `instance` was heard at `atMicros`; it counts until `expiresAtMicros`.
    public mutating func heard(_ instance: UInt32, atMicros: Int64, expiresAtMicros: Int64) {
        if let index = instances.firstIndex(where: { $0.instance == instance }) {
            if instances[index].expiresAt > atMicros {
                instances[index].expiresAt = max(instances[index].expiresAt, expiresAtMicros)
                return
            }
            instances[index].expiresAt = expiresAtMicros
        } else {
            guard instances.count < Self.capacity else { return }
            instances.append(Counted(instance: instance, expiresAt: expiresAtMicros))
        }
        // Not counted before (new, or its time had passed): it fills an excused place.
        if excused > 0 { excused -= 1 }
    }

    /// Instance `instance` sent `stop`: it leaves the count and, if it counted, excuses a place (a
    /// `stop` naming an instance never heard, or one whose time had passed, excuses nothing).
    /// Returns whether any instance still counts at `atMicros`.
    public mutating func stopped(_ instance: UInt32, atMicros: Int64) -> Bool {
        if let index = instances.firstIndex(where: { $0.instance == instance }) {
            if instances[index].expiresAt > atMicros { excused = min(minimum, excused + 1) }
            instances.remove(at: index)
        }
        return counted(atMicros: atMicros) > 0
    }

    /// Forgets the instances whose time has passed by `nowMicros` (they fill an excused place when
    /// heard again, as any instance not counted) and a watching time that is over; says whether
    /// the quorum is met at `nowMicros`, and when it was lost if it was: the earliest of those
    /// moments at which it was not met (being met can only end as time passes).
    public mutating func settle(atMicros nowMicros: Int64) -> (met: Bool, lostAt: Int64?) {
        guard let earliest = nextExpiry, earliest <= nowMicros else { return (isMet(atMicros: nowMicros), nil) }
        var lostAt: Int64?
        for counted in instances where counted.expiresAt <= nowMicros && !isMet(atMicros: counted.expiresAt) {
            lostAt = min(lostAt ?? .max, counted.expiresAt)
        }
        if watchedUntil != .min, watchedUntil <= nowMicros, !isMet(atMicros: watchedUntil) { lostAt = min(lostAt ?? .max, watchedUntil) }
        instances.removeAll { $0.expiresAt <= nowMicros }
        if watchedUntil <= nowMicros { watchedUntil = .min }
        return (isMet(atMicros: nowMicros), lostAt)
    }
}

/// The quorums of the applications under one, reached without hashing: a slot per application id
/// (-1: none) into a dense list, so the sweep that finds thousands of them due pays an array
/// index for each. The slots grow only up to the highest id under a quorum.
struct QuorumTable {
    private var slots: [Int32] = []
    private var list: [InstanceQuorum] = []
    /// The application id of each entry of `list`.
    private var owners: [Int] = []

    var isEmpty: Bool { list.isEmpty }

    /// Application `id`'s quorum, if it has one.
    subscript(id: Int) -> InstanceQuorum? {
        id < slots.count && slots[id] >= 0 ? list[Int(slots[id])] : nil
    }

    func contains(_ id: Int) -> Bool { id < slots.count && slots[id] >= 0 }

    /// Gives application `id` a quorum (keeping one it has).
    mutating func insertIfAbsent(_ quorum: @autoclosure () -> InstanceQuorum, for id: Int) {
        guard !contains(id) else { return }
        if id >= slots.count { slots += Array(repeating: -1, count: id + 1 - slots.count) }
        slots[id] = Int32(list.count)
        list.append(quorum())
        owners.append(id)
    }

    /// Application `id` has no quorum any more (the last entry takes its place in the list).
    mutating func remove(_ id: Int) {
        guard contains(id) else { return }
        let slot = Int(slots[id])
        let last = list.count - 1
        if slot != last {
            list.swapAt(slot, last)
            owners.swapAt(slot, last)
            slots[owners[slot]] = Int32(slot)
        }
        list.removeLast()
        owners.removeLast()
        slots[id] = -1
    }

    /// `body` on application `id`'s quorum, in place, so its instance array is never copied while
    /// it changes (nil without one).
    @discardableResult
    mutating func update<Result>(_ id: Int, _ body: (inout InstanceQuorum) -> Result) -> Result? {
        guard contains(id) else { return nil }
        return body(&list[Int(slots[id])])
    }

    /// Each application id below `limit` with its quorum.
    func forEach(below limit: Int, _ body: (Int, InstanceQuorum) -> Void) {
        for (slot, id) in owners.enumerated() where id < limit { body(id, list[slot]) }
    }
}
