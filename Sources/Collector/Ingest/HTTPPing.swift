import Protocol

/// One HTTP ping (`/ping/{uuid}[/{action}]`) as the ingest path sees it: which application, what it
/// says (a record kind and status), from which instance, and the ping key it carried. Parsed from
/// the request by ``init(application:action:instance:key:)``; validated by ``HTTPIngestGate/ping(_:)``.
public struct HTTPPing: Sendable, Equatable {
    public var application: ApplicationUUID
    public var kind: RecordKind
    /// The exit status of `/ping/{uuid}/{exit-status}`; 1 for `/fail`, 0 otherwise.
    public var status: Int32
    /// The instance `?instance=` names (``instanceID(_:)``), 0 without one.
    public var instance: UInt32
    /// The ping key from `Authorization: Bearer` or `?key=`; nil when the request had none.
    public var key: String?
    /// `/log`: output on its own, which changes no state and is not a record (`kind` is `beat`
    /// and unused).
    public var isLog = false
    /// The job's run id (`?rid=`, same characters as an instance name), pairing a start with its end.
    public var runKey: String?

    /// Whether the ping starts, ends or logs a run (every action but a beat and `stop`).
    public var isRunEvent: Bool { runEventKind != nil }

    /// What it says about a run, for ``RunStore``; nil for a beat or `stop`.
    public var runEventKind: RunEvent.Kind? {
        if isLog { return .log }
        switch kind {
        case .start: return .start
        case .success: return .end(success: true, exitStatus: status == 0 && action == .exitStatus ? 0 : nil)
        case .fail: return .end(success: false, exitStatus: action == .exitStatus ? status : nil)
        case .beat, .stop: return nil
        }
    }

    /// Whether the action was a number (its status is an exit status) or a word.
    private var action: ActionForm = .word
    private enum ActionForm { case word, exitStatus }

    /// Why a request is not a ping (answered 400 with the message, counted `malformed`).
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The longest instance name, in bytes.
    public static let maximumInstanceNameLength = 64

    /// The ping of a request to `/ping/{application}` (`action` nil) or `/ping/{application}/{action}`.
    public init(application: Substring, action: Substring?, instance: Substring?, key: String?, runKey: Substring? = nil) throws(Malformed) {
        guard let uuid = ApplicationUUID(application) else {
            throw Malformed(description: "\(application.prefix(64)) is not an application UUID")
        }
        self.application = uuid
        if let action, action.utf8.elementsEqual("log".utf8) {
            (kind, status, isLog) = (.beat, 0, true)
        } else {
            (kind, status) = try Self.meaning(of: action)
            if let action, action.utf8.first.map({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) == true { self.action = .exitStatus }
        }
        self.instance = try instance.map { name throws(Malformed) in try Self.instanceID(name) } ?? 0
        self.key = key
        if let runKey {
            guard Self.isName(runKey) else { throw Malformed(description: "rid: 1 to \(Self.maximumInstanceNameLength) of A-Z a-z 0-9 . _ : -") }
            self.runKey = String(runKey)
        }
    }

    /// The kind and status an action path segment stands for.
    static func meaning(of action: Substring?) throws(Malformed) -> (RecordKind, Int32) {
        guard let action else { return (.beat, 0) }
        // Compared as bytes: Substring's == compares Characters.
        switch Array(action.utf8) {
        case Array("start".utf8): return (.start, 0)
        case Array("success".utf8): return (.success, 0)
        case Array("fail".utf8): return (.fail, 1)
        case Array("stop".utf8): return (.stop, 0)
        default:
            guard action.utf8.count <= 3, action.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let code = Int32(action), code <= 255
            else {
                throw Malformed(description: "\(action.prefix(64)): the action is start, success, fail, stop or an exit status 0-255")
            }
            return code == 0 ? (.success, 0) : (.fail, code)
        }
    }

    /// The 32-bit instance id of an instance name (1-64 of `A-Z a-z 0-9 . _ : -`): its FNV-1a hash,
    /// so that every collector maps a name to the same id with no shared table. 0 (no instance) is
    /// never the result.
    public static func instanceID(_ name: Substring) throws(Malformed) -> UInt32 {
        guard isName(name) else {
            throw Malformed(description: "instance: 1 to \(maximumInstanceNameLength) of A-Z a-z 0-9 . _ : -")
        }
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash == 0 ? 1 : hash
    }

    /// Whether `name` is 1-64 of `A-Z a-z 0-9 . _ : -` (an instance name or a run id).
    static func isName(_ name: Substring) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && bytes.count <= maximumInstanceNameLength && bytes.allSatisfy(isInstanceNameByte)
    }

    private static func isInstanceNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// What became of a ping; each refusal is counted under one ``RejectionReason`` (in brackets).
    public enum Outcome: Sendable, Equatable {
        /// Queued for the drain like a record (200).
        case accepted
        /// No application has the UUID (404) [unknown_app].
        case unknownApplication
        /// The application is disabled (404) [disabled].
        case disabled
        /// A signed application's ping without a key (401) [auth].
        case keyMissing
        /// A key that is not the application's ping key (403) [auth].
        case keyWrong
        /// Over the application's budget; try again after this many seconds (429) [rate_limited].
        case rateLimited(retryAfterSeconds: Int)
        /// The queue is full (503, `Retry-After: 1`) [overload].
        case overloaded

        /// The reason it is counted under; nil when accepted.
        public var rejection: RejectionReason? {
            switch self {
            case .accepted: nil
            case .unknownApplication: .unknownApplication
            case .disabled: .disabled
            case .keyMissing, .keyWrong: .authentication
            case .rateLimited: .rateLimited
            case .overloaded: .overload
            }
        }
    }
}
