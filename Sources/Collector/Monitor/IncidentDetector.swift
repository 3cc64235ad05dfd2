/// The incident hold's decision (`Spec/liveness.md`, "Incident hold"), as a value: fed once per
/// monitor tick with what the board and the collector's own counters say, it opens an incident
/// when the problem looks like the network's or the monitor's own rather than the applications',
/// and closes it when traffic is back or the hold has lasted its maximum.
///
/// It opens when, over the last ``Settings/windowMicros``:
/// - **late burst**: more than ``Settings/lateFraction`` of the applications that were up at the
///   window's start, and more than ``Settings/lateMinimum``, went late;
/// - **lost traffic**: at least ``Settings/lostMinimum`` records, and at least
///   ``Settings/lostFraction`` of those that arrived, were lost before the monitor could see them
///   (the kernel dropped them on the port, or the rings overflowed);
/// - **arrivals fell**: the arrival rate over the last ``Settings/recentMicros`` fell below
///   ``Settings/arrivalFloor`` of its average over the minutes before the window (once that
///   average is at least ``Settings/minimumBaselinePerSecond``).
///
/// It closes when none of the three has held for ``Settings/quietMicros`` and the arrival rate
/// is back to at least half the average it had when the incident opened, or after
/// ``Settings/maximumHoldMicros`` at most. After a maximum hold, the next incident opens only
/// once the conditions have cleared in between: an outage that outlasts the hold is one incident.
public struct IncidentDetector: Sendable {
    /// The thresholds; the defaults are the documented ones.
    public struct Settings: Sendable, Equatable {
        public var windowMicros: Int64 = 30_000_000
        public var lateFraction = 0.2
        public var lateMinimum = 50
        public var lostFraction = 0.01
        public var lostMinimum: UInt64 = 100
        public var recentMicros: Int64 = 5_000_000
        public var arrivalFloor = 0.2
        public var minimumBaselinePerSecond = 10.0
        /// How far back the arrival average reaches (before the window).
        public var baselineMicros: Int64 = 300_000_000
        public var quietMicros: Int64 = 10_000_000
        public var maximumHoldMicros: Int64 = 300_000_000

        public init() {}
    }

    /// Why an incident opened.
    public enum Cause: String, Sendable, Equatable, CaseIterable {
        case lateBurst = "late_burst"
        case lostTraffic = "lost_traffic"
        case arrivalsFell = "arrivals_fell"
    }

    /// Why it closed.
    public enum Ending: String, Sendable, Equatable {
        case trafficReturned = "traffic_returned"
        case maximumHold = "maximum_hold"
        /// Not the detector's: the monitor acting now found an incident open in the database
        /// that its own detector never saw (the one that held it stopped, or a close failed).
        case orphaned
    }

    /// One tick's observation.
    public struct Sample: Sendable {
        public var nowMicros: Int64
        /// Applications up now.
        public var upCount: Int
        /// Applications that went late this tick.
        public var wentLate: Int
        /// Running totals: records that arrived, and records lost before the monitor saw them.
        public var arrivalsTotal: UInt64
        public var lostTotal: UInt64

        public init(nowMicros: Int64, upCount: Int, wentLate: Int, arrivalsTotal: UInt64, lostTotal: UInt64) {
            self.nowMicros = nowMicros
            self.upCount = upCount
            self.wentLate = wentLate
            self.arrivalsTotal = arrivalsTotal
            self.lostTotal = lostTotal
        }
    }

    /// An incident in progress.
    public struct Open: Sendable, Equatable {
        public let openedAtMicros: Int64
        public let cause: Cause
        /// Applications that went late in the window that opened it.
        public let lateInWindow: Int
        /// The arrival average (records/s) when it opened; nil while none was known.
        public let baselinePerSecond: Double?
    }

    /// What one observation changed.
    public enum Change: Sendable, Equatable {
        case opened(Open)
        case closed(Open, Ending, atMicros: Int64)
    }

    public let settings: Settings
    /// The incident in progress, if any.
    public private(set) var open: Open?
    /// One entry per second at most: the figures the windows are measured against.
    private var history = [Point]()
    private var lateTotal = 0
    /// Since when none of the three conditions has held (while open).
    private var quietSinceMicros: Int64?
    /// Whether a new incident may open (false from a maximum hold until the conditions clear).
    private var armed = true

    private struct Point {
        let micros: Int64
        let upCount: Int
        let lateTotal: Int
        let arrivals: UInt64
        let lost: UInt64
    }

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Takes one tick's observation; returns the incident it opened or closed, if any.
    public mutating func observe(_ sample: Sample) -> Change? {
        lateTotal += sample.wentLate
        let now = sample.nowMicros
        if history.last.map({ now - $0.micros >= 1_000_000 }) ?? true {
            history.append(Point(micros: now, upCount: sample.upCount, lateTotal: lateTotal, arrivals: sample.arrivalsTotal, lost: sample.lostTotal))
            let horizon = now - settings.baselineMicros - settings.windowMicros - 1_000_000
            if let first = history.firstIndex(where: { $0.micros >= horizon }), first > 0 { history.removeFirst(first) }
        }
        let cause = self.cause(sample)
        if cause == nil { armed = true }
        if let current = open {
            if cause != nil {
                quietSinceMicros = nil
            } else if quietSinceMicros == nil {
                quietSinceMicros = now
            }
            if now - current.openedAtMicros >= settings.maximumHoldMicros {
                return close(current, .maximumHold, now)
            }
            if let quiet = quietSinceMicros, now - quiet >= settings.quietMicros, arrivalsBack(sample, current) {
                return close(current, .trafficReturned, now)
            }
            return nil
        }
        guard let cause, armed else { return nil }
        let opened = Open(openedAtMicros: now, cause: cause, lateInWindow: lateInWindow(), baselinePerSecond: baselineRate(now))
        open = opened
        quietSinceMicros = nil
        return .opened(opened)
    }

    private mutating func close(_ current: Open, _ ending: Ending, _ now: Int64) -> Change {
        open = nil
        quietSinceMicros = nil
        armed = ending != .maximumHold
        return .closed(current, ending, atMicros: now)
    }

    /// The first condition that holds now, if any.
    private func cause(_ sample: Sample) -> Cause? {
        let now = sample.nowMicros
        if let start = point(atOrBefore: now - settings.windowMicros) ?? history.first {
            let late = lateTotal - start.lateTotal
            if late > settings.lateMinimum && Double(late) > settings.lateFraction * Double(start.upCount) { return .lateBurst }
            let lost = sample.lostTotal &- start.lost
            let arrived = sample.arrivalsTotal &- start.arrivals
            if lost >= settings.lostMinimum && Double(lost) >= settings.lostFraction * Double(arrived + lost) { return .lostTraffic }
        }
        if let baseline = baselineRate(now), baseline >= settings.minimumBaselinePerSecond, let recent = recentRate(sample),
            recent < settings.arrivalFloor * baseline
        {
            return .arrivalsFell
        }
        return nil
    }

    private func lateInWindow() -> Int {
        guard let now = history.last?.micros, let start = point(atOrBefore: now - settings.windowMicros) ?? history.first else { return 0 }
        return lateTotal - start.lateTotal
    }

    /// Records per second over the last ``Settings/recentMicros``.
    private func recentRate(_ sample: Sample) -> Double? {
        guard let start = point(atOrBefore: sample.nowMicros - settings.recentMicros) else { return nil }
        let span = sample.nowMicros - start.micros
        guard span > 0 else { return nil }
        return Double(sample.arrivalsTotal &- start.arrivals) * 1e6 / Double(span)
    }

    /// Records per second over the baseline span before the window (at least one window of it).
    private func baselineRate(_ now: Int64) -> Double? {
        guard let end = point(atOrBefore: now - settings.windowMicros), let start = history.first,
            end.micros - start.micros >= settings.windowMicros
        else { return nil }
        return Double(end.arrivals &- start.arrivals) * 1e6 / Double(end.micros - start.micros)
    }

    private func arrivalsBack(_ sample: Sample, _ current: Open) -> Bool {
        guard let baseline = current.baselinePerSecond, baseline >= settings.minimumBaselinePerSecond else { return true }
        guard let recent = recentRate(sample) else { return false }
        return recent >= 0.5 * baseline
    }

    /// The newest history point at or before `micros`.
    private func point(atOrBefore micros: Int64) -> Point? {
        history.last { $0.micros <= micros }
    }
}
