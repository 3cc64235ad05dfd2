/// The silences in force at one instant over one registry snapshot: which applications they
/// cover. What the delivery worker (releases, reminders) and status readers ask.
public struct ActiveSilences: Sendable {
    private let profiles: ApplicationProfiles
    /// The silences in force.
    public let silences: [Silence]

    public init(_ snapshot: RegistrySnapshot, nowMicros: Int64) {
        profiles = snapshot.profiles
        silences = snapshot.silences.active(atMicros: nowMicros)
    }

    /// Whether none is in force.
    public var isEmpty: Bool { silences.isEmpty }

    /// The first silence in force that covers application `id`, or nil.
    public func covering(_ id: Int) -> Silence? {
        guard !silences.isEmpty, let profile = profiles[Int64(id)] else { return nil }
        return covering(profile)
    }

    /// The first silence in force that covers `profile`'s application, or nil.
    public func covering(_ profile: ApplicationProfile) -> Silence? {
        silences.first { $0.selects(uuid: profile.uuid, name: profile.name, labels: profile.labels) }
    }
}
