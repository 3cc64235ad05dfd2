/// A cron schedule in words, for the status page, the API and `heartbeat app`: "at 03:00 on Monday
/// through Friday (Europe/Berlin)", "every 15 minutes (UTC)". Written from the parsed fields, so
/// `1-5`, `mon-fri` and `MON,TUE,WED,THU,FRI` read the same.
extension CronSchedule {
    /// The schedule in words, its zone in parentheses.
    public var words: String {
        "\(expression.words) (\(zone.identifier))"
    }
}

extension CronExpression {
    static let dayWords = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let monthWords = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let ordinals = ["first", "second", "third", "fourth", "fifth"]

    /// The expression in words, without the zone.
    public var words: String {
        let time = timeWords, days = dayWords
        // "every 15 minutes", not "every 15 minutes every day".
        let dayPart = days == "every day" && time.hasPrefix("every") ? "" : days
        return [time, dayPart, monthWords].filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// The values set in `bits` within `range`, ascending.
    static func values(_ bits: UInt64, _ range: ClosedRange<Int>) -> [Int] {
        range.filter { bits & (UInt64(1) << UInt64($0)) != 0 }
    }

    /// `[1, 2, 3, 5]` as "Monday through Wednesday and Friday" (names from `name`).
    static func runs(_ values: [Int], _ name: (Int) -> String) -> String {
        var parts = [String]()
        var index = 0
        while index < values.count {
            var end = index
            while end + 1 < values.count, values[end + 1] == values[end] + 1 { end += 1 }
            parts.append(end - index >= 2 ? "\(name(values[index])) through \(name(values[end]))" : (index...end).map { name(values[$0]) }.joined(separator: ", "))
            index = end + 1
        }
        guard parts.count > 1 else { return parts.first ?? "" }
        return parts.dropLast().joined(separator: ", ") + " and " + parts[parts.count - 1]
    }

    /// A regular step from the first value (`*/15` → 15), or nil.
    static func step(_ values: [Int], _ range: ClosedRange<Int>) -> Int? {
        guard values.count > 1, values[0] == range.lowerBound else { return nil }
        let step = values[1] - values[0]
        guard step > 1, values.enumerated().allSatisfy({ $0.element == range.lowerBound + $0.offset * step }),
            values.last! + step > range.upperBound
        else { return nil }
        return step
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private var timeWords: String {
        let minuteList = Self.values(minutes, 0...59), hourList = Self.values(hours, 0...23)
        let everyHour = hourList.count == 24
        if minuteList.count == 60 {
            return everyHour ? "every minute" : "every minute of hour \(Self.runs(hourList) { Self.twoDigits($0) + ":00" })"
        }
        if let step = Self.step(minuteList, 0...59) {
            return everyHour ? "every \(step) minutes" : "every \(step) minutes during \(Self.runs(hourList) { Self.twoDigits($0) + ":00" })"
        }
        if everyHour {
            return minuteList == [0] ? "every hour" : "every hour at minute \(minuteList.map(String.init).joined(separator: ", "))"
        }
        let times = hourList.flatMap { hour in minuteList.map { Self.twoDigits(hour) + ":" + Self.twoDigits($0) } }
        if times.count <= 6 { return "at " + times.joined(separator: ", ") }
        if let step = Self.step(hourList, 0...23) {
            return "every \(step) hours at minute \(minuteList.map(String.init).joined(separator: ", "))"
        }
        return "at minute \(minuteList.map(String.init).joined(separator: ", ")) of hours \(hourList.map(String.init).joined(separator: ", "))"
    }

    private var dayWords: String {
        var ofMonth = [String]()
        let dayList = Self.values(days, 1...31)
        let allDays = dayList.count == 31 && !lastDay && !lastWeekday
        if !allDays {
            if !dayList.isEmpty { ofMonth.append("day \(Self.runs(dayList, String.init)) of the month") }
            if lastDay { ofMonth.append("the last day of the month") }
            if lastWeekday { ofMonth.append("the last weekday of the month") }
        }
        var ofWeek = [String]()
        let weekdayList = Array(Set(Self.values(weekdays, 0...7).map { $0 % 7 })).sorted()
        let allWeekdays = weekdayList.count == 7
        if !allWeekdays, !weekdayList.isEmpty {
            ofWeek.append(Self.runs(weekdayList) { Self.dayWords[$0] })
        }
        for day in Set(Self.values(lastWeekdays, 0...7).map { $0 % 7 }).sorted() { ofWeek.append("the last \(Self.dayWords[day]) of the month") }
        for (index, bits) in nthWeekdays.enumerated() {
            for day in Set(Self.values(bits, 0...7).map { $0 % 7 }).sorted() { ofWeek.append("the \(Self.ordinals[index]) \(Self.dayWords[day]) of the month") }
        }
        let restrictedMonth = !ofMonth.isEmpty, restrictedWeek = !ofWeek.isEmpty
        switch (restrictedMonth, restrictedWeek) {
        case (false, false): return "every day"
        case (true, false): return "on " + ofMonth.joined(separator: " and ")
        case (false, true): return "on " + ofWeek.joined(separator: " and ")
        case (true, true):
            return "on " + ofMonth.joined(separator: " and ") + (dayAnd ? " if it is " : " or on ") + ofWeek.joined(separator: " and ")
        }
    }

    private var monthWords: String {
        let monthList = Self.values(months, 1...12)
        return monthList.count == 12 ? "" : "in " + Self.runs(monthList) { Self.monthWords[$0 - 1] }
    }
}
