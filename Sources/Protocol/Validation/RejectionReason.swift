/// Why a record was not accepted. Every rejected record is counted under exactly one reason, so
/// that received = accepted + Σ rejected always holds.
///
/// The raw values are stable codes that index counter arrays and never change meaning; the order in
/// which checks are made is `Spec/protocol.md`'s (section 6): replay comes last there, after
/// rate_limited and overload.
public enum RejectionReason: UInt8, CaseIterable, Error, Sendable, CustomStringConvertible {
    /// The datagram's length is not a multiple of 64 up to 1024, the magic is not "HB", the kind
    /// is unknown, the sequence number is 0, or `sent_at` lies outside years 1-9999.
    case malformed = 0
    /// The version byte is not one this collector reads.
    case version = 1
    /// No registered application has this UUID.
    case unknownApplication = 2
    /// The application is registered but disabled.
    case disabled = 3
    /// The application has a secret, and the tag is zero or does not verify against it (nor its
    /// previous secret during a rotation's grace period).
    case authentication = 4
    /// A signed record whose `sent_at` is further than the allowed skew from the collector's clock.
    case stale = 5
    /// The (app, instance, seq) was already accepted, or is older than the 64-record window.
    case replay = 6
    /// The application sent more than its per-app budget allows.
    case rateLimited = 7
    /// The collector's queue (a receiver's ring) was full.
    case overload = 8
    /// A record of an instance the collector holds no anti-replay window for, when its application
    /// already has the most windows allowed (or the collector does): a flood of made-up instances
    /// cannot grow the collector's memory, and only the flooding application pays.
    case instanceLimit = 9

    /// The label used in metrics, logs, test vectors and the API: `unknown_app`, `auth`, ….
    public var description: String {
        switch self {
        case .malformed: "malformed"
        case .version: "version"
        case .unknownApplication: "unknown_app"
        case .disabled: "disabled"
        case .authentication: "auth"
        case .stale: "stale"
        case .replay: "replay"
        case .rateLimited: "rate_limited"
        case .overload: "overload"
        case .instanceLimit: "instance_limit"
        }
    }

    /// The reason whose label is `label`, or `nil`.
    public init?(label: String) {
        guard let reason = Self.allCases.first(where: { $0.description == label }) else { return nil }
        self = reason
    }
}
