/// Where an application stands (`application.status`).
public enum LivenessStatus: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// Registered, never heard from.
    case new = 0
    /// Heard from within its interval.
    case up = 1
    /// Its interval passed without a record.
    case late = 2
    /// Interval + grace passed without a record, it reported `fail`, or a run exceeded its maximum.
    case down = 3
    /// It sent `stop` (graceful shutdown), or an operator paused it; no alert until it is heard again.
    case paused = 4
    /// Heard from, but by fewer distinct instances than its `min_instances` (instance quorum);
    /// otherwise like `up`. Named so as not to clash with the monitor's own `degraded` role.
    case short = 5

    /// The name stored in PostgreSQL and shown by the API.
    public var description: String {
        switch self {
        case .new: "new"
        case .up: "up"
        case .late: "late"
        case .down: "down"
        case .paused: "paused"
        case .short: "short"
        }
    }

    /// The status whose stored name is `label`, or nil.
    public init?(label: String) {
        guard let status = Self.byLabel[label] else { return nil }
        self = status
    }

    /// Every status by its stored name (uptime reads parse thousands of them).
    private static let byLabel = Dictionary(uniqueKeysWithValues: allCases.map { ($0.description, $0) })
}

/// Why a transition happened (`status_change.reason`).
public enum TransitionReason: String, Sendable {
    /// A record arrived (recovery from late/down, first contact, or resume after a pause).
    case heartbeat
    /// The interval passed without a record.
    case missedInterval = "missed_interval"
    /// Interval + grace passed without a record.
    case missedGrace = "missed_grace"
    /// The application sent `fail`.
    case failed
    /// The application sent `stop`.
    case stopped
    /// A run (`start` … `success`/`fail`) lasted longer than the application's maximum.
    case runTimeout = "run_timeout"
    /// An operator paused the application (API or `heartbeat app pause`).
    case operatorPause = "operator_pause"
    /// An operator resumed it: it waits for its next record (`new`, no deadline).
    case operatorResume = "operator_resume"
    /// Fewer instances than its `min_instances` are reporting (up → short).
    case instancesMissing = "instances_missing"
    /// Enough instances report again (short → up).
    case instancesReturned = "instances_returned"
}

/// One change of status, as the monitor records it exactly once.
public struct LivenessTransition: Equatable, Sendable {
    public let from: LivenessStatus
    public let to: LivenessStatus
    /// When it happened (Unix µs): the record's arrival, or the deadline that passed.
    public let atMicros: Int64
    public let reason: TransitionReason
    /// For a `success`/`fail` that closed a run: how long the run took, µs.
    public let runDurationMicros: Int64?

    public init(from: LivenessStatus, to: LivenessStatus, atMicros: Int64, reason: TransitionReason, runDurationMicros: Int64? = nil) {
        self.from = from
        self.to = to
        self.atMicros = atMicros
        self.reason = reason
        self.runDurationMicros = runDurationMicros
    }
}
