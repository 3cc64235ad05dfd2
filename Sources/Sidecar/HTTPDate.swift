import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header's value (RFC 9110 section 5.6.7, IMF-fixdate: `Tue, 01 Dec 2026 17:46:41 GMT`),
/// formatted once per second: the router's responses carry one, so answers written on the event
/// loop do too.
struct HTTPDate {
    private var second = -1
    private var text = ""

    /// The value for now, reformatted only when the second has changed.
    mutating func now() -> String {
        let current = time(nil)
        if current != second {
            second = current
            text = Self.format(seconds: current)
        }
        return text
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate of `seconds` since 1970 (UTC).
    static func format(seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
