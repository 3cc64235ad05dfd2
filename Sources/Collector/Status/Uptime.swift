/// Uptime over a window, exactly, from an application's transitions (`status_change`): how long it
/// spent in each status between `from` and `to`, and the share of the time that counts during
/// which it was not down.
///
/// `late` counts as up: the application missed its interval but is within its grace, and no
/// alert has gone out. So does `short` (fewer instances than its `min_instances`, but serving). Time `paused` (by `stop` or an operator) and time `new` (registered, never
/// heard from, and any time before it was registered) do not count: uptime = 1 − down /
/// (window − paused − new). A window with no counted time has no uptime (`nil`), not 100 %.
public struct Uptime: Equatable, Sendable {
    /// Microseconds spent in each status within the window.
    public var upMicros: Int64 = 0
    public var lateMicros: Int64 = 0
    public var shortMicros: Int64 = 0
    public var downMicros: Int64 = 0
    public var pausedMicros: Int64 = 0
    public var newMicros: Int64 = 0

    public init() {}

    /// The time that counts: up, short, late and down.
    public var countedMicros: Int64 { upMicros + shortMicros + lateMicros + downMicros }

    /// 1 − down / counted; nil when nothing counted.
    public var ratio: Double? {
        countedMicros > 0 ? 1 - Double(downMicros) / Double(countedMicros) : nil
    }

    /// Adds `micros` spent in `status`.
    mutating func add(_ micros: Int64, in status: LivenessStatus) {
        switch status {
        case .up: upMicros += micros
        case .late: lateMicros += micros
        case .short: shortMicros += micros
        case .down: downMicros += micros
        case .paused: pausedMicros += micros
        case .new: newMicros += micros
        }
    }

    /// One transition: when, and the status entered.
    public struct Change: Equatable, Sendable {
        public let atMicros: Int64
        public let to: LivenessStatus
        public init(atMicros: Int64, to: LivenessStatus) {
            self.atMicros = atMicros
            self.to = to
        }
    }

    /// The uptime of [fromMicros, toMicros), given the status in force before the window (the
    /// status the last earlier transition entered; `.new` when there was none) and transitions,
    /// oldest first: those at or before `fromMicros` only set the status the window starts in,
    /// those at or after `toMicros` are ignored.
    public static func over(fromMicros: Int64, toMicros: Int64, statusAtStart: LivenessStatus, changes: [Change]) -> Uptime {
        var uptime = Uptime()
        var status = statusAtStart
        var cursor = fromMicros
        for change in changes {
            if change.atMicros <= fromMicros {
                status = change.to
                continue
            }
            guard change.atMicros < toMicros else { break }
            uptime.add(change.atMicros - cursor, in: status)
            cursor = change.atMicros
            status = change.to
        }
        if toMicros > cursor { uptime.add(toMicros - cursor, in: status) }
        return uptime
    }

    /// The uptime of each UTC day that [fromMicros, toMicros) touches (the first and last clipped
    /// to the window), oldest first, as (the day's start, its uptime). Changes are taken as by
    /// ``over(fromMicros:toMicros:statusAtStart:changes:)``.
    public static func daily(fromMicros: Int64, toMicros: Int64, statusAtStart: LivenessStatus, changes: [Change]) -> [(dayStartMicros: Int64, uptime: Uptime)] {
        let microsPerDay: Int64 = 86_400_000_000
        var days = [(dayStartMicros: Int64, uptime: Uptime)]()
        var status = statusAtStart
        var remaining = changes[...]
        while let next = remaining.first, next.atMicros <= fromMicros {
            status = next.to
            remaining = remaining.dropFirst()
        }
        var dayStart = fromMicros - ((fromMicros % microsPerDay) + microsPerDay) % microsPerDay
        while dayStart < toMicros {
            let start = max(dayStart, fromMicros)
            let end = min(dayStart + microsPerDay, toMicros)
            var inDay = [Change]()
            while let next = remaining.first, next.atMicros < end {
                inDay.append(next)
                remaining = remaining.dropFirst()
            }
            days.append((dayStart, over(fromMicros: start, toMicros: end, statusAtStart: status, changes: inDay)))
            status = inDay.last?.to ?? status
            dayStart += microsPerDay
        }
        return days
    }
}
