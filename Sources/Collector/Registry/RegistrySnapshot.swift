import Atomics
import Protocol

/// One immutable version of the registry: the application table behind a ready validator, which
/// receivers load once per batch of datagrams, and each application's profile (name, expectation,
/// signed, enabled) for status readers.
public final class RegistrySnapshot: AtomicReference, Sendable {
    /// `registry_version.version` this snapshot was loaded at (0 for one built in memory).
    public let version: Int64
    /// The validator over this version's applications.
    public let validator: RecordValidator
    /// The highest `application.id` in it (sizes per-application arrays).
    public let maximumApplicationID: Int64
    /// What status readers need of each application, by id.
    public let profiles: ApplicationProfiles
    /// Every silence, ended ones too (few: they are matched against each transition recorded).
    public let silences: [Silence]

    public init(
        version: Int64, applications: [ApplicationDescriptor], allowedSkewMicros: Int64, profiles: ApplicationProfiles = ApplicationProfiles(),
        silences: [Silence] = []
    ) {
        self.version = version
        self.profiles = profiles
        self.silences = silences
        self.validator = RecordValidator(applications: ApplicationTable(applications), allowedSkewMicros: allowedSkewMicros)
        self.maximumApplicationID = applications.reduce(0) { max($0, $1.applicationID) }
    }
}

/// The registry snapshot in force; receivers load it once per batch of datagrams.
public typealias RegistryHolder = AtomicHolder<RegistrySnapshot>

extension AtomicHolder where Value == RegistrySnapshot {
    /// The snapshot in force.
    public var snapshot: RegistrySnapshot { value }
}
