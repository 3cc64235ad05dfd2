/// What an application promises, asked one question by the liveness machine: after an arrival,
/// when is it late and when is it down? Adding a kind of expectation is a case here and its
/// answer; nothing else in the monitor branches on the kind.
public enum Expectation: Equatable, Sendable {
    /// A record every `intervalMicros` (0: the interval the latest record promised): late at the
    /// arrival + interval, down `graceMicros` later.
    case every(intervalMicros: Int64, graceMicros: Int64)
    /// A record at each fire time of `schedule`: late `graceMicros` after the first fire time
    /// strictly after the arrival, down a second `graceMicros` after that (with no grace, both at
    /// the fire time). A job that ran at 03:00:05 under `0 3 * * *` is next expected tomorrow at
    /// 03:00; one that skips a run is caught at that run's own fire time + grace.
    case cron(CronSchedule, graceMicros: Int64)

    /// The expectation a registry row describes: its schedule when it has one, else its interval.
    public init(intervalMillis: Int64, schedule: CronSchedule?, graceMillis: Int64) {
        self = schedule.map { .cron($0, graceMicros: graceMillis * 1_000) } ?? .every(intervalMicros: intervalMillis * 1_000, graceMicros: graceMillis * 1_000)
    }

    /// When the next record is expected after one at `arrivalMicros`: the interval's end, or the
    /// schedule's next fire time.
    public func nextExpected(afterArrivalMicros arrivalMicros: Int64, recordIntervalMicros: Int64 = 0) -> Int64? {
        switch self {
        case .every: deadlines(afterArrivalMicros: arrivalMicros, recordIntervalMicros: recordIntervalMicros)?.late
        case .cron(let schedule, _): schedule.nextFire(afterMicros: arrivalMicros)
        }
    }

    /// The grace the expectation allows, µs.
    public var graceMicros: Int64 {
        switch self {
        case .every(_, let grace), .cron(_, let grace): grace
        }
    }

    /// When an application whose latest arrival was at `arrivalMicros` goes late and down if
    /// nothing more arrives; nil when it has no deadline (no interval known, or a schedule that
    /// never fires again). `recordIntervalMicros` is what the latest record promised.
    /// `missedBeforeDown` (the application's `down_after`, at least 1) moves only the down
    /// deadline: to the one the `missedBeforeDown`-th expected record would have had, so late
    /// still shows at the first miss.
    public func deadlines(
        afterArrivalMicros arrivalMicros: Int64, recordIntervalMicros: Int64, missedBeforeDown: Int = 1
    ) -> (late: Int64, down: Int64)? {
        let misses = Int64(max(1, missedBeforeDown))
        switch self {
        case .every(let registered, let grace):
            let interval = registered > 0 ? registered : recordIntervalMicros
            guard interval > 0 else { return nil }
            return (arrivalMicros + interval, arrivalMicros + misses * interval + grace)
        case .cron(let schedule, let grace):
            guard let fire = schedule.nextFire(afterMicros: arrivalMicros) else { return nil }
            var lastFire = fire
            for _ in 1..<misses {
                guard let next = schedule.nextFire(afterMicros: lastFire) else { break }
                lastFire = next
            }
            return (fire + grace, lastFire + 2 * grace)
        }
    }
}
