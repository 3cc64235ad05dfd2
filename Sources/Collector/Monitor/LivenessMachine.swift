import Protocol

/// How long an application may stay silent (its ``Expectation``, from the registry) and how long
/// a run may last.
public struct LivenessPolicy: Equatable, Sendable {
    public var expectation: Expectation
    /// The longest a run (`start` … `success`/`fail`) may last, µs; nil for no limit.
    public var maxRunMicros: Int64?
    /// `down_after`: consecutive missed deadlines, or consecutive `fail` records, before `down`
    /// (1 to ``thresholdRange``'s end).
    public var downAfter: UInt16
    /// `up_after`: consecutive on-time records before a `down` application is `up` again.
    public var upAfter: UInt16
    /// `min_instances`: distinct instances that must report for `up` rather than `short`
    /// (1: any record will do; ``InstanceQuorum``).
    public var minInstances: UInt16

    /// The values `down_after` and `up_after` may take (the registry's CHECK).
    public static let thresholdRange: ClosedRange<Int> = 1...1_000

    public init(expectation: Expectation, maxRunMicros: Int64? = nil, downAfter: Int = 1, upAfter: Int = 1, minInstances: Int = 1) {
        self.expectation = expectation
        self.maxRunMicros = maxRunMicros
        self.downAfter = UInt16(clamping: max(1, downAfter))
        self.upAfter = UInt16(clamping: max(1, upAfter))
        self.minInstances = UInt16(clamping: max(1, minInstances))
    }

    /// A record every `intervalMicros` (0: the record's own), then `graceMicros` before `down`.
    public init(intervalMicros: Int64, graceMicros: Int64, maxRunMicros: Int64? = nil, downAfter: Int = 1, upAfter: Int = 1, minInstances: Int = 1) {
        self.init(
            expectation: .every(intervalMicros: intervalMicros, graceMicros: graceMicros), maxRunMicros: maxRunMicros,
            downAfter: downAfter, upAfter: upAfter, minInstances: minInstances)
    }

    /// The grace, µs.
    public var graceMicros: Int64 { expectation.graceMicros }
}

/// The liveness state machine of one application, as a plain value with no I/O and an injected
/// clock: records and clock checks go in, at most one transition comes out of each.
///
/// ```
///            record                interval passes           grace passes
///   new ───────────────▶ up ───────────────────▶ late ───────────────────▶ down
///                         ▲ ◀──────── record ──────┘                        │
///                         └──────────────────── record ─────────────────────┘
///   any ── fail ──▶ down        any ── stop ──▶ paused ── record ──▶ up
///   up (run open longer than max_run) ──▶ down
///   up ◀── enough instances again / fewer than min_instances ──▶ short   (instance quorum)
/// ```
///
/// Deadlines count from the record's arrival, as the policy's ``Expectation`` answers (for an
/// interval: late at arrival + interval, down at arrival + interval + grace). A `paused`
/// application has no deadline. A `start` opens a run; the next
/// `success`/`fail` closes it and carries its duration.
///
/// Thresholds (the policy's `downAfter` and `upAfter`, both 1 unless set):
/// - **down_after N**: the down deadline is the N-th missed one (interval: arrival + N × interval
///   + grace), while late still shows at the first. The first N − 1 consecutive `fail` records
///   make the application `late` (reason `failed`), the N-th `down`.
/// - **up_after N**: a `down` application stays down until N consecutive on-time `beat` or
///   `success` records (each within interval + grace of the one before; a `start` neither counts
///   nor breaks the streak); a late record restarts the count at 1, a `fail` at 0.
///
/// Instance quorum: `short` is `up` with fewer instances than `min_instances` reporting; it has
/// the same deadlines. The board's ``InstanceQuorum`` says whether a record leaves the quorum met
/// (`quorumMet`), and ``quorumChanged(met:atMicros:)`` moves `up` and `short` between records.
public struct LivenessMachine: Equatable, Sendable {
    public private(set) var status: LivenessStatus
    /// Arrival of the latest record (Unix µs); `Int64.min` before any.
    public private(set) var lastSeenMicros: Int64 = .min
    /// The interval the latest record promised, µs (0 = none): used only when the registry has none.
    public private(set) var recordIntervalMicros: Int64 = 0
    /// When the open run started (Unix µs), if one is open.
    public private(set) var runStartedMicros: Int64?
    /// The latest closed run: how long it took (µs) and when it ended (Unix µs).
    public private(set) var lastRun: ClosedRun?
    /// Since when the application has been in ``status`` (Unix µs): its latest transition, or what
    /// the database said when the status was adopted; `Int64.min` while it has never changed.
    public private(set) var sinceMicros: Int64 = .min
    /// Consecutive `fail` records since the last good one (toward `down_after`).
    public private(set) var consecutiveFails: UInt16 = 0
    /// While `down`: consecutive on-time records so far (toward `up_after`).
    public private(set) var onTimeRecords: UInt16 = 0

    /// A run that a `success` or `fail` closed.
    public struct ClosedRun: Equatable, Sendable {
        public let durationMicros: Int64
        public let endedMicros: Int64
    }

    public init(status: LivenessStatus = .new) {
        self.status = status
    }

    /// Whether the application is heard from in time: `up`, or `short` of instances.
    public var isUp: Bool { status == .up || status == .short }

    /// The deadlines in force under `policy` while up, short or late (nil when it has none).
    private func deadlines(_ policy: LivenessPolicy) -> (late: Int64, down: Int64)? {
        guard isUp || status == .late else { return nil }
        return policy.expectation.deadlines(
            afterArrivalMicros: lastSeenMicros, recordIntervalMicros: recordIntervalMicros, missedBeforeDown: Int(policy.downAfter))
    }

    /// When the application goes `late` if nothing arrives (nil when it has no deadline).
    public func lateDeadline(_ policy: LivenessPolicy) -> Int64? {
        guard isUp else { return nil }
        return deadlines(policy)?.late
    }

    /// When it goes `down` if nothing arrives (nil when it has no deadline).
    public func downDeadline(_ policy: LivenessPolicy) -> Int64? {
        deadlines(policy)?.down
    }

    /// Applies a record of `kind` that arrived at `atMicros`, promising its next within
    /// `recordIntervalMillis` (0 = the registry's); `quorumMet` is false when, with this record,
    /// fewer instances than `min_instances` report (the record then brings `short`, not `up`).
    public mutating func receive(
        _ kind: RecordKind, atMicros: Int64, recordIntervalMillis: UInt32, policy: LivenessPolicy, quorumMet: Bool = true
    ) -> LivenessTransition? {
        // Whether this record came on time after the previous one (toward `up_after`): before the
        // previous record's single-miss down deadline.
        let previousDown = lastSeenMicros == .min
            ? nil
            : policy.expectation.deadlines(afterArrivalMicros: lastSeenMicros, recordIntervalMicros: recordIntervalMicros)?.down
        let onTime = previousDown.map { atMicros <= $0 } ?? false
        lastSeenMicros = max(lastSeenMicros, atMicros)
        recordIntervalMicros = Int64(recordIntervalMillis) * 1_000
        var runDuration: Int64?
        switch kind {
        case .start:
            runStartedMicros = atMicros
        case .success, .fail:
            if let started = runStartedMicros {
                runDuration = max(0, atMicros - started)
                lastRun = ClosedRun(durationMicros: max(0, atMicros - started), endedMicros: atMicros)
            }
            runStartedMicros = nil
        case .beat, .stop:
            break
        }
        let target: LivenessStatus
        let reason: TransitionReason
        switch kind {
        case .fail:
            if consecutiveFails < .max { consecutiveFails += 1 }
            onTimeRecords = 0
            (target, reason) = consecutiveFails >= policy.downAfter || status == .down ? (.down, .failed) : (.late, .failed)
        case .stop:
            (consecutiveFails, onTimeRecords) = (0, 0)
            (target, reason) = (.paused, .stopped)
        case .beat, .start, .success:
            consecutiveFails = 0
            if status == .down && policy.upAfter > 1 {
                if kind != .start { onTimeRecords = onTime && onTimeRecords > 0 ? onTimeRecords &+ 1 : 1 }
                guard onTimeRecords >= policy.upAfter else { return nil }
            }
            onTimeRecords = 0
            target = quorumMet ? .up : .short
            reason = switch (status, target) {
            case (.short, .up): .instancesReturned
            case (.up, .short): .instancesMissing
            default: .heartbeat
            }
        }
        guard target != status else { return nil }
        defer {
            status = target
            sinceMicros = atMicros
        }
        return LivenessTransition(from: status, to: target, atMicros: atMicros, reason: reason, runDurationMicros: runDuration)
    }

    /// Takes `status` as given (from the database, in it since `sinceMicros` when known), with the
    /// clock restarting at `nowMicros`.
    public mutating func adopt(_ status: LivenessStatus, nowMicros: Int64, sinceMicros: Int64? = nil) {
        self.status = status
        self.sinceMicros = sinceMicros ?? nowMicros
        (consecutiveFails, onTimeRecords) = (0, 0)
        if isUp || status == .late { lastSeenMicros = max(lastSeenMicros, nowMicros) } else { runStartedMicros = nil }
    }

    /// Moves `up` to `short` when the quorum is no longer met at `atMicros`, and `short` to `up`
    /// when it is again; nothing in any other status (a record decides those).
    public mutating func quorumChanged(met: Bool, atMicros: Int64) -> LivenessTransition? {
        let transition: LivenessTransition
        switch (status, met) {
        case (.up, false): transition = LivenessTransition(from: .up, to: .short, atMicros: atMicros, reason: .instancesMissing)
        case (.short, true): transition = LivenessTransition(from: .short, to: .up, atMicros: atMicros, reason: .instancesReturned)
        default: return nil
        }
        status = transition.to
        sinceMicros = atMicros
        return transition
    }

    /// Checks the clock: the transition whose deadline has passed by `nowMicros`, if any (one step
    /// at a time: an application silent for interval + grace goes `late`, then at the next check
    /// `down`, each at its own deadline).
    public mutating func check(nowMicros: Int64, policy: LivenessPolicy) -> LivenessTransition? {
        if isUp || status == .late, let started = runStartedMicros, let maximum = policy.maxRunMicros,
            nowMicros >= started + maximum
        {
            runStartedMicros = nil
            onTimeRecords = 0
            defer {
                status = .down
                sinceMicros = started + maximum
            }
            return LivenessTransition(from: status, to: .down, atMicros: started + maximum, reason: .runTimeout)
        }
        if let deadline = lateDeadline(policy), nowMicros >= deadline {
            defer {
                status = .late
                sinceMicros = deadline
            }
            return LivenessTransition(from: status, to: .late, atMicros: deadline, reason: .missedInterval)
        }
        if status == .late, let deadline = downDeadline(policy), nowMicros >= deadline {
            onTimeRecords = 0
            status = .down
            sinceMicros = deadline
            return LivenessTransition(from: .late, to: .down, atMicros: deadline, reason: .missedGrace)
        }
        return nil
    }
}
