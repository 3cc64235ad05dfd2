/// What a record says about its application (wire byte 3).
///
/// Effects on liveness (see `Spec/protocol.md`): `beat` and `success` prove the app alive;
/// `start` opens a job run whose duration ends at the next `success`/`fail`; `fail` takes the app
/// down at once; `stop` pauses it without an alert until its next record.
public enum RecordKind: UInt8, CaseIterable, Sendable, BitwiseCopyable, CustomStringConvertible {
    case beat = 0
    case start = 1
    case success = 2
    case fail = 3
    case stop = 4

    /// The lowercase name used in the specification, test vectors and the command line.
    public var description: String {
        switch self {
        case .beat: "beat"
        case .start: "start"
        case .success: "success"
        case .fail: "fail"
        case .stop: "stop"
        }
    }

    /// The kind whose `description` is `name`, or `nil`.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = kind
    }
}
