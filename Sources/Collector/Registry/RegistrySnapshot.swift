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

    public init(version: Int64, applications: [ApplicationDescriptor], allowedSkewMicros: Int64, profiles: ApplicationProfiles = ApplicationProfiles()) {
        self.version = version
        self.profiles = profiles
        self.validator = RecordValidator(applications: ApplicationTable(applications), allowedSkewMicros: allowedSkewMicros)
        self.maximumApplicationID = applications.reduce(0) { max($0, $1.applicationID) }
    }
}

/// The current registry snapshot, swapped atomically when a new version is loaded; readers never
/// lock and never see a half-built table.
public final class RegistryHolder: Sendable {
    private let current: ManagedAtomic<RegistrySnapshot>

    public init(_ initial: RegistrySnapshot) {
        current = ManagedAtomic(initial)
    }

    /// The snapshot in force.
    public var snapshot: RegistrySnapshot { current.load(ordering: .acquiring) }

    /// Puts `snapshot` in force.
    public func publish(_ snapshot: RegistrySnapshot) {
        current.store(snapshot, ordering: .releasing)
    }
}
