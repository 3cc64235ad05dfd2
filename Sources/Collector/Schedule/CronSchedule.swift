/// A cron expression in a time zone, and the one question the monitor asks of it: the first fire
/// time strictly after an instant. The search is cronsim's, step for step, so DST behaves as it
/// does there (`Spec/schedules.md`): a job at a fixed time of day follows the wall clock (a time
/// skipped by spring-forward runs at the first minute after the gap; a time repeated by fall-back
/// runs once, the first time); any other job walks real minutes, so skipped wall times never
/// happen and repeated ones happen twice.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: CronExpression
    public let zone: ZoneRules

    /// An unknown zone name.
    public struct UnknownZone: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "time_zone: \"\(name)\" is not an IANA time zone this collector knows (e.g. Europe/Berlin, UTC)" }
    }

    public init(expression: CronExpression, zone: ZoneRules) {
        self.expression = expression
        self.zone = zone
    }

    /// Parses both; the error says which is wrong.
    public init(_ expression: String, timeZone: String) throws {
        guard let rules = ZoneRules.named(timeZone) else { throw UnknownZone(name: timeZone) }
        self.init(expression: try CronExpression(expression), zone: rules)
    }

    public var description: String { "\(expression) (\(zone.identifier))" }

    public static func == (lhs: CronSchedule, rhs: CronSchedule) -> Bool {
        lhs.expression == rhs.expression && lhs.zone.identifier == rhs.zone.identifier
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(expression)
        hasher.combine(zone.identifier)
    }

    /// Searches give up after this many years without a match (as cronsim does).
    static let searchYears: Int64 = 50

    /// The first fire time strictly after `micros` (Unix microseconds), as Unix microseconds; nil
    /// when none comes within 50 years.
    public func nextFire(afterMicros micros: Int64) -> Int64? {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        return nextFire(afterSeconds: seconds).map { $0 * 1_000_000 }
    }

    /// ``nextFire(afterMicros:)`` in whole seconds.
    public func nextFire(afterSeconds seconds: Int64) -> Int64? {
        var cursor = Cursor(schedule: self, instant: seconds)
        cursor.tick(minutes: 1)
        guard cursor.advance() else { return nil }
        return cursor.resultInstant()
    }

    /// A wall-clock minute being searched: minutes since 1970-01-01 00:00 of the zone's wall clock
    /// (read as if UTC), with Python's fold. With a fixed time of day it moves by wall-clock
    /// arithmetic (naive); otherwise each tick moves a real minute and re-reads the wall clock.
    struct Cursor {
        let expression: CronExpression
        let zone: ZoneRules
        let naive: Bool
        var wallMinute: Int64
        var fold: Bool

        init(schedule: CronSchedule, instant: Int64) {
            expression = schedule.expression
            zone = schedule.zone
            naive = expression.fixedTimeOfDay
            let local = zone.offset(atInstant: instant)
            let wall = instant + local.offset
            wallMinute = wall >= 0 ? wall / 60 : (wall - 59) / 60  // seconds dropped
            fold = local.fold
        }

        var days: Int64 { wallMinute >= 0 ? wallMinute / 1_440 : (wallMinute - 1_439) / 1_440 }
        var minuteOfDay: Int { Int(wallMinute - days * 1_440) }
        var minute: Int { minuteOfDay % 60 }
        var hour: Int { minuteOfDay / 60 }
        var date: (year: Int64, month: Int64, day: Int64) { CivilCalendar.civilFromDays(days) }

        /// The instant of the wall time with `fold`.
        func instant(wallMinute: Int64, fold: Bool) -> Int64 {
            let wall = wallMinute * 60
            return wall - zone.offset(atWall: wall, fold: fold)
        }

        mutating func tick(minutes: Int64) {
            if naive {
                wallMinute += minutes
                return
            }
            let moved = instant(wallMinute: wallMinute, fold: fold) + minutes * 60
            let local = zone.offset(atInstant: moved)
            wallMinute = (moved + local.offset) / 60 - ((moved + local.offset) % 60 < 0 ? 1 : 0)
            fold = local.fold
        }

        /// Midnight (fold 0) of the day `days` after 1970-01-01.
        mutating func startOfDay(_ days: Int64) {
            wallMinute = days * 1_440
            fold = false
        }

        mutating func advanceMonth() {
            var (year, month, _) = date
            guard !expression.matchesMonth(Int(month)) else { return }
            while !expression.matchesMonth(Int(month)) {
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
            }
            startOfDay(CivilCalendar.daysFromCivil(year: year, month: month, day: 1))
        }

        mutating func advanceDay() -> Bool {
            var needle = days
            func matches(_ days: Int64) -> (Bool, day: Int64) {
                let civil = CivilCalendar.civilFromDays(days)
                return (expression.matchesDay(year: civil.year, month: Int(civil.month), day: Int(civil.day), weekday: CronCalendar.weekday(days: days)), civil.day)
            }
            if matches(needle).0 { return false }
            while true {
                needle += 1
                let (found, day) = matches(needle)
                if found || day == 1 { break }  // a new month: its month is checked again first
            }
            startOfDay(needle)
            return true
        }

        mutating func advanceHour() -> Bool {
            if expression.matchesHour(hour) { return false }
            wallMinute -= Int64(minute)  // minute 0 of this hour, fold kept
            while !expression.matchesHour(hour) {
                tick(minutes: 60)
                if hour == 0 { break }  // a new day: its day is checked again first
            }
            return true
        }

        mutating func advanceMinute() -> Bool {
            if expression.matchesMinute(minute) { return false }
            if expression.minutes.nonzeroBitCount == 1 {
                let target = expression.minutes.trailingZeroBitCount
                tick(minutes: Int64((target - minute + 60) % 60))
            }
            while !expression.matchesMinute(minute) {
                tick(minutes: 1)
                if minute == 0 { break }  // a new hour: its hour is checked again first
            }
            return true
        }

        /// Moves to the first matching minute at or after the cursor; false past the search limit.
        mutating func advance() -> Bool {
            let startYear = date.year
            while true {
                advanceMonth()
                if date.year > startYear + CronSchedule.searchYears { return false }
                if advanceDay() { continue }
                if advanceHour() { continue }
                if advanceMinute() { continue }
                return true
            }
        }

        /// The instant the cursor stands for. A fixed-time job whose wall time does not exist (it
        /// is in a spring-forward gap) runs at the first wall minute after it that does.
        mutating func resultInstant() -> Int64 {
            guard naive else { return instant(wallMinute: wallMinute, fold: fold) }
            while true {
                // A wall time exists when its instant reads back as the same wall time.
                let candidate = instant(wallMinute: wallMinute, fold: false)
                if candidate + zone.offset(atInstant: candidate).offset == wallMinute * 60 { return candidate }
                wallMinute += 1
            }
        }
    }
}
