import Collector
import Foundation
import Testing

/// The API's timestamps, written by arithmetic, against Foundation's calendar.
@Suite("Civil calendar")
struct CivilCalendarTests {
    @Test("RFC 3339 with microseconds", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
        (1_796_147_201_123_456, "2026-12-01T17:46:41.123456Z"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
    ])
    func fixed(micros: Int64, expected: String) {
        #expect(CivilCalendar.rfc3339(micros: micros) == expected)
    }

    @Test("RFC 3339 agrees with Foundation over 10,000 random instants from 1900 to 2400")
    func random() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let micros = Int64.random(in: -2_208_988_800_000_000...13_569_465_600_000_000, using: &generator)
            let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
            let fraction = micros - seconds * 1_000_000
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds))) + "." + String(format: "%06lld", fraction) + "Z"
            #expect(CivilCalendar.rfc3339(micros: micros) == expected, "\(micros)")
        }
    }
}
