/// Proleptic Gregorian dates in UTC by arithmetic (Howard Hinnant's `days_from_civil` and
/// `civil_from_days`), for partition names and the API's timestamps: `Calendar` is slow enough per
/// call to matter when an events page formats 200 timestamps (Spec/tuning.md, "Memory" and below).
public enum CivilCalendar {
    /// Days since 1970-01-01 of a civil date.
    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a number of days since 1970-01-01.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    public static func zeroPadded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// `2026-11-30T03:04:05.123456Z` for a Unix time in microseconds.
    public static func rfc3339(micros: Int64) -> String {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let date = civilFromDays(days)
        guard (0...9_999).contains(date.year) else {
            return "\(zeroPadded(date.year, 4))-\(zeroPadded(date.month, 2))-\(zeroPadded(date.day, 2))T\(zeroPadded(secondOfDay / 3_600, 2)):"
                + "\(zeroPadded(secondOfDay / 60 % 60, 2)):\(zeroPadded(secondOfDay % 60, 2)).\(zeroPadded(fraction, 6))Z"
        }
        // Written byte by byte: status answers format several of these per request.
        return String(unsafeUninitializedCapacity: 27) { text in
            func digits(_ value: Int64, _ width: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            digits(date.year, 4, at: 0)
            text[4] = UInt8(ascii: "-")
            digits(date.month, 2, at: 5)
            text[7] = UInt8(ascii: "-")
            digits(date.day, 2, at: 8)
            text[10] = UInt8(ascii: "T")
            digits(secondOfDay / 3_600, 2, at: 11)
            text[13] = UInt8(ascii: ":")
            digits(secondOfDay / 60 % 60, 2, at: 14)
            text[16] = UInt8(ascii: ":")
            digits(secondOfDay % 60, 2, at: 17)
            text[19] = UInt8(ascii: ".")
            digits(fraction, 6, at: 20)
            text[26] = UInt8(ascii: "Z")
            return 27
        }
    }
}
