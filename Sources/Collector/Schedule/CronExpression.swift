import Foundation

/// A cron expression: the five standard fields (minute, hour, day of month, month, day of week)
/// with lists, ranges, steps, names and `*`, Sunday as 0 or 7, and the extensions cronsim reads
/// (`L` and `LW` in day of month, `5L` and `FRI#2` in day of week), or one of the macros
/// `@yearly @annually @monthly @weekly @daily @midnight @hourly`. Parsed as cronsim (the library
/// Healthchecks uses) parses it, so an expression means here what it means there
/// (`Spec/schedules.md`); what cronsim refuses is refused with a message naming the field.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as given (a macro stays a macro).
    public let text: String
    /// Bit n set: minute n (0-59) matches.
    let minutes: UInt64
    /// Bit n set: hour n (0-23).
    let hours: UInt64
    /// Bit n set: day of month n (1-31).
    let days: UInt64
    /// `L` in day of month: the month's last day.
    let lastDay: Bool
    /// `LW` in day of month: the month's last weekday (Monday to Friday).
    let lastWeekday: Bool
    /// Bit n set: month n (1-12).
    let months: UInt64
    /// Bit n set: day of week n (0-7, Sunday both 0 and 7).
    let weekdays: UInt64
    /// Bit n set: `nL`, the last such weekday of the month.
    let lastWeekdays: UInt64
    /// Index k-1 holds the weekdays of `n#k`, the k-th such weekday of the month.
    let nthWeekdays: [UInt64]
    /// Vixie cron's rule: when either day field starts with `*`, a day must match both; otherwise either.
    let dayAnd: Bool
    /// Neither the minute nor the hour field starts with `*`: a job at a fixed time of day, whose
    /// runs in a time zone follow the wall clock through DST changes (`Spec/schedules.md`).
    public let fixedTimeOfDay: Bool

    /// Why an expression is refused.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The five fields each macro stands for.
    public static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    public var description: String { text }

    public init(_ text: String) throws(Invalid) {
        self.text = text
        let expanded = Self.macros[text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()] ?? text
        let parts = expanded.uppercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard parts.count == 5 else {
            throw Invalid(description: "a cron expression has five fields (minute hour day-of-month month day-of-week) or is a macro such as @daily; this one has \(parts.count)")
        }
        let minute = try Field.minute.parse(parts[0])
        let hour = try Field.hour.parse(parts[1])
        let day = try Field.day.parse(parts[2])
        let month = try Field.month.parse(parts[3])
        let weekday = try Field.weekday.parse(parts[4])
        minutes = minute.values
        hours = hour.values
        days = day.values
        lastDay = day.last
        lastWeekday = day.lastWeekday
        months = month.values
        weekdays = weekday.values
        lastWeekdays = weekday.lastOf
        nthWeekdays = weekday.nth
        dayAnd = parts[2].hasPrefix("*") || parts[4].hasPrefix("*")
        fixedTimeOfDay = !parts[0].hasPrefix("*") && !parts[1].hasPrefix("*")
        // A day of month that no chosen month has (30 February) would never fire.
        if !lastDay, !lastWeekday, days != 0, days.trailingZeroBitCount > 29 {
            var longest = 0
            for month in 1...12 where months & (UInt64(1) << UInt64(month)) != 0 {
                longest = Swift.max(longest, Self.longestMonth[month])
            }
            if days.trailingZeroBitCount > longest {
                throw Invalid(description: "day-of-month: no chosen month has a day \(days.trailingZeroBitCount)")
            }
        }
    }

    /// The most days each month can have (February 29).
    static let longestMonth = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    // MARK: Matching

    func matchesMinute(_ minute: Int) -> Bool { minutes & (1 << UInt64(minute)) != 0 }
    func matchesHour(_ hour: Int) -> Bool { hours & (1 << UInt64(hour)) != 0 }
    func matchesMonth(_ month: Int) -> Bool { months & (1 << UInt64(month)) != 0 }

    /// Whether the civil date matches the day fields (by Vixie cron's AND/OR rule).
    func matchesDay(year: Int64, month: Int, day: Int, weekday: Int) -> Bool {
        dayAnd
            ? matchesDayOfMonth(year: year, month: month, day: day) && matchesDayOfWeek(year: year, month: month, day: day, weekday: weekday)
            : matchesDayOfMonth(year: year, month: month, day: day) || matchesDayOfWeek(year: year, month: month, day: day, weekday: weekday)
    }

    private func matchesDayOfMonth(year: Int64, month: Int, day: Int) -> Bool {
        if days & (1 << UInt64(day)) != 0 { return true }
        let length = CronCalendar.daysIn(year: year, month: month)
        if lastWeekday, day >= 26, day == CronCalendar.lastWeekday(year: year, month: month) { return true }
        if lastDay, day >= 28, day == length { return true }
        return false
    }

    /// `weekday` is 0 (Sunday) to 6 (Saturday); the fields may name Sunday as 0 or 7.
    private func matchesDayOfWeek(year: Int64, month: Int, day: Int, weekday: Int) -> Bool {
        let bits: UInt64 = weekday == 0 ? (1 << 0 | 1 << 7) : 1 << UInt64(weekday)
        if weekdays & bits != 0 { return true }
        if lastWeekdays & bits != 0, day + 7 > CronCalendar.daysIn(year: year, month: month) { return true }
        let index = (day + 6) / 7
        if index <= nthWeekdays.count, nthWeekdays[index - 1] & bits != 0 { return true }
        return false
    }

    // MARK: Fields

    /// One field's grammar, as cronsim reads it.
    enum Field: CaseIterable {
        case minute, hour, day, month, weekday

        var name: String {
            switch self {
            case .minute: "minute"
            case .hour: "hour"
            case .day: "day-of-month"
            case .month: "month"
            case .weekday: "day-of-week"
            }
        }

        var range: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .day: 1...31
            case .month: 1...12
            case .weekday: 0...7
            }
        }

        static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

        /// What a field's text selects.
        struct Selection {
            var values: UInt64 = 0
            var last = false
            var lastWeekday = false
            var lastOf: UInt64 = 0
            var nth: [UInt64] = Array(repeating: 0, count: 5)

            mutating func formUnion(_ other: Selection) {
                values |= other.values
                last = last || other.last
                lastWeekday = lastWeekday || other.lastWeekday
                lastOf |= other.lastOf
                for index in 0..<5 { nth[index] |= other.nth[index] }
            }

            /// Only plain values (no `L`, `LW`, `nL`, `n#k`).
            var isPlain: Bool { !last && !lastWeekday && lastOf == 0 && nth.allSatisfy { $0 == 0 } }
        }

        func bad(_ text: String, _ why: String) -> Invalid {
            Invalid(description: "\(name): \(text.isEmpty ? "an empty item" : "\"\(text)\"") \(why)")
        }

        /// Digits only, no sign.
        func number(_ text: String) throws(Invalid) -> Int {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text) else {
                throw bad(text, "is not a number\(self == .month || self == .weekday ? " or a name" : "")")
            }
            return value
        }

        /// A single value: a name (months, days) or a number in range.
        func value(_ text: String) throws(Invalid) -> Int {
            if self == .month, let index = Self.monthNames.firstIndex(of: text) { return index + 1 }
            if self == .weekday, let index = Self.dayNames.firstIndex(of: text) { return index }
            let value = try number(text)
            guard range.contains(value) else { throw bad(text, "is outside \(range.lowerBound)-\(range.upperBound)") }
            return value
        }

        static func bits(_ values: some Sequence<Int>) -> UInt64 {
            values.reduce(0) { $0 | 1 << UInt64($1) }
        }

        func parse(_ text: String) throws(Invalid) -> Selection {
            var selection = Selection()
            if text == "*" {
                selection.values = Self.bits(range)
                return selection
            }
            if text.contains(",") {
                for term in text.split(separator: ",", omittingEmptySubsequences: false) {
                    selection.formUnion(try parse(String(term)))
                }
                return selection
            }
            if self == .weekday, text.contains("L") {
                let day = String(text.dropLast())
                guard !day.isEmpty, day.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw bad(text, "is not a day number followed by L") }
                selection.lastOf = 1 << UInt64(try value(day))
                return selection
            }
            if self == .weekday, let hash = text.firstIndex(of: "#") {
                let nth = try number(String(text[text.index(after: hash)...]))
                guard (1...5).contains(nth) else { throw bad(text, "asks for a week other than the 1st to 5th") }
                selection.nth[nth - 1] = 1 << UInt64(try value(String(text[..<hash])))
                return selection
            }
            if let slash = text.firstIndex(of: "/") {
                let step = try number(String(text[text.index(after: slash)...]))
                guard step > 0 else { throw bad(text, "has a step of 0") }
                let items = try parse(String(text[..<slash]))
                if !items.isPlain { return items }
                let chosen = (0...63).filter { items.values & (1 << UInt64($0)) != 0 }
                if chosen.count == 1 {
                    // A single start runs to the end of the field's range.
                    selection.values = Self.bits(Array(chosen[0]...range.upperBound).enumerated().filter { $0.offset % step == 0 }.map(\.element))
                } else {
                    selection.values = Self.bits(chosen.enumerated().filter { $0.offset % step == 0 }.map(\.element))
                }
                return selection
            }
            if let dash = text.firstIndex(of: "-") {
                let start = try value(String(text[..<dash]))
                let end = try value(String(text[text.index(after: dash)...]))
                guard start <= end else { throw bad(text, "is a range that ends before it starts") }
                selection.values = Self.bits(start...end)
                return selection
            }
            if self == .day, text == "LW" {
                selection.lastWeekday = true
                return selection
            }
            if self == .day, text == "L" {
                selection.last = true
                return selection
            }
            selection.values = 1 << UInt64(try value(text))
            return selection
        }
    }
}

/// Calendar facts the cron rules need.
enum CronCalendar {
    static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(year: Int64, month: Int) -> Int {
        month == 2 ? (isLeap(year) ? 29 : 28) : CronExpression.longestMonth[month]
    }

    /// 0 (Sunday) to 6 (Saturday) of a day counted from 1970-01-01 (a Thursday).
    static func weekday(days: Int64) -> Int {
        Int(((days % 7) + 7 + 4) % 7)
    }

    /// The last Monday-to-Friday day of a month.
    static func lastWeekday(year: Int64, month: Int) -> Int {
        let last = daysIn(year: year, month: month)
        let weekday = Self.weekday(days: CivilCalendar.daysFromCivil(year: year, month: Int64(month), day: Int64(last)))
        return weekday == 0 ? last - 2 : weekday == 6 ? last - 1 : last
    }
}
