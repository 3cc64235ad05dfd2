import Protocol

/// What a status reader needs to know of an application besides its liveness.
public struct ApplicationProfile: Equatable, Sendable {
    public var applicationID: Int64
    public var uuid: ApplicationUUID
    public var name: String
    /// The expectation: a beat every `intervalMillis` (0 on a schedule), or at each fire time of
    /// `schedule`; then `graceMillis` before `down`; a run may last `maxRunMillis` (nil: no limit).
    public var intervalMillis: Int64
    public var schedule: CronSchedule?

    /// What the application promises, as the monitor judges it.
    public var expectation: Expectation { Expectation(intervalMillis: intervalMillis, schedule: schedule, graceMillis: graceMillis) }
    public var graceMillis: Int64
    public var maxRunMillis: Int64?
    /// Whether its records must carry an HMAC tag.
    public var isSigned: Bool
    public var isEnabled: Bool
    /// When it was registered (Unix µs; 0 when unknown).
    public var createdAtMicros: Int64
    /// Its labels (``ApplicationLabels``), for routing notifications and for readers.
    public var labels: [String: String]
    /// Its thresholds and reminder period, for readers.
    public var noise: NoiseSettings

    public init(
        applicationID: Int64, uuid: ApplicationUUID, name: String, intervalMillis: Int64, graceMillis: Int64, maxRunMillis: Int64? = nil,
        isSigned: Bool = false, isEnabled: Bool = true, createdAtMicros: Int64 = 0, schedule: CronSchedule? = nil,
        labels: [String: String] = [:], noise: NoiseSettings = NoiseSettings()
    ) {
        self.labels = labels
        self.noise = noise
        self.schedule = schedule
        self.createdAtMicros = createdAtMicros
        self.applicationID = applicationID
        self.uuid = uuid
        self.name = name
        self.intervalMillis = intervalMillis
        self.graceMillis = graceMillis
        self.maxRunMillis = maxRunMillis
        self.isSigned = isSigned
        self.isEnabled = isEnabled
    }
}

/// Every application's ``ApplicationProfile`` in one registry version, looked up by
/// `application.id`. Kept as columns (names in one byte buffer) rather than an array of structs,
/// so a million applications cost tens of megabytes, not a String object each.
public struct ApplicationProfiles: Sendable {
    /// Position of each id's profile, by id (-1: no such application).
    private var positionByID: [Int32] = []
    private var uuids: [ApplicationUUID] = []
    private var nameBytes: [UInt8] = []
    /// Where each name ends in ``nameBytes`` (it starts where the one before ends).
    private var nameEnds: [UInt32] = []
    /// Milliseconds, as the schema stores them (`integer`).
    private var intervals: [Int32] = []
    private var graces: [Int32] = []
    /// -1: no limit.
    private var maxRuns: [Int32] = []
    /// Bit 0: signed; bit 1: enabled.
    private var flags: [UInt8] = []
    private var createdAt: [Int64] = []
    /// The schedules of the applications that have one, by position (few, and shared values).
    private var schedules: [Int32: CronSchedule] = [:]
    /// The labels of the applications that have some, by position.
    private var labels: [Int32: [String: String]] = [:]
    /// The noise controls of the applications that do not have the defaults, by position.
    private var noise: [Int32: NoiseSettings] = [:]

    public init() {}

    public init(_ profiles: [ApplicationProfile]) {
        for profile in profiles { append(profile) }
    }

    /// Profiles held.
    public var count: Int { uuids.count }

    /// Adds `profile` (an id added twice keeps the later one for lookups).
    public mutating func append(_ profile: ApplicationProfile) {
        let id = Int(profile.applicationID)
        guard id >= 0 else { return }
        if id >= positionByID.count { positionByID += Array(repeating: -1, count: id + 1 - positionByID.count) }
        positionByID[id] = Int32(uuids.count)
        uuids.append(profile.uuid)
        nameBytes += profile.name.utf8
        nameEnds.append(UInt32(nameBytes.count))
        intervals.append(Int32(clamping: profile.intervalMillis))
        graces.append(Int32(clamping: profile.graceMillis))
        maxRuns.append(profile.maxRunMillis.map { Int32(clamping: $0) } ?? -1)
        flags.append((profile.isSigned ? 1 : 0) | (profile.isEnabled ? 2 : 0))
        if let schedule = profile.schedule { schedules[Int32(uuids.count - 1)] = schedule }
        if !profile.labels.isEmpty { labels[Int32(uuids.count - 1)] = profile.labels }
        if profile.noise != NoiseSettings() { noise[Int32(uuids.count - 1)] = profile.noise }
        createdAt.append(profile.createdAtMicros)
    }

    /// One past the highest application id held (ids below it may be absent).
    public var idLimit: Int { positionByID.count }

    /// Whether application `id` is held.
    public func contains(_ id: Int) -> Bool {
        id >= 0 && id < positionByID.count && positionByID[id] >= 0
    }

    /// Whether application `id` is held and enabled.
    public func isEnabled(_ id: Int) -> Bool {
        contains(id) && flags[Int(positionByID[id])] & 2 != 0
    }

    /// Whether application `id`'s name starts with `prefix` (compared as UTF-8 bytes, as
    /// PostgreSQL's `starts_with` does), without building its name.
    public func name(of id: Int, hasPrefix prefix: [UInt8]) -> Bool {
        guard contains(id) else { return false }
        let name = nameBytes(Int(positionByID[id]))
        return name.count >= prefix.count && name.prefix(prefix.count).elementsEqual(prefix)
    }

    /// Whether application `a`'s name sorts before `b`'s (by UTF-8 bytes, then by id).
    public func nameOrder(_ a: Int, _ b: Int) -> Bool {
        let left = nameBytes(Int(positionByID[a]))
        let right = nameBytes(Int(positionByID[b]))
        if left.elementsEqual(right) { return a < b }
        return left.lexicographicallyPrecedes(right)
    }

    private func nameBytes(_ position: Int) -> ArraySlice<UInt8> {
        nameBytes[(position == 0 ? 0 : Int(nameEnds[position - 1]))..<Int(nameEnds[position])]
    }

    /// The profile of application `id`, if the registry has it.
    public subscript(id: Int64) -> ApplicationProfile? {
        guard id >= 0, id < positionByID.count else { return nil }
        let position = Int(positionByID[Int(id)])
        guard position >= 0 else { return nil }
        let name = String(decoding: nameBytes(position), as: UTF8.self)
        return ApplicationProfile(
            applicationID: id, uuid: uuids[position], name: name, intervalMillis: Int64(intervals[position]),
            graceMillis: Int64(graces[position]), maxRunMillis: maxRuns[position] >= 0 ? Int64(maxRuns[position]) : nil, isSigned: flags[position] & 1 != 0, isEnabled: flags[position] & 2 != 0,
            createdAtMicros: createdAt[position], schedule: schedules[Int32(position)], labels: labels[Int32(position)] ?? [:],
            noise: noise[Int32(position)] ?? NoiseSettings())
    }
}
