import Collector
import Foundation
import Testing

/// Our cron schedules against `Spec/schedule-vectors.json`, which `Spec/tools/make_schedule_vectors.py`
/// writes with cronsim (and `scripts/test` re-checks against cronsim): the same fire times, written
/// with the same wall-clock offsets, and the same expressions refused.
@Suite("Cron schedules against cronsim's vectors")
struct ScheduleVectorTests {
    struct Case: Decodable {
        let expression: String
        let time_zone: String
        let after: String?
        let why: String
        let expands_to: String?
        let next: [String]?
        let error: String?
    }

    struct File: Decodable {
        let cases: [Case]
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Spec/schedule-vectors.json")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.cases
    }()

    /// Unix seconds of an RFC 3339 time with a `Z` or `±hh:mm` offset.
    static func seconds(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }

    /// `2026-03-29T03:00:00+02:00`: the instant on the zone's wall clock, as Python's isoformat writes it.
    static func wallText(_ instant: Int64, _ zone: ZoneRules) -> String {
        let offset = zone.offset(atInstant: instant).offset
        let wall = CivilCalendar.rfc3339(micros: (instant + offset) * 1_000_000).prefix(19)
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        return "\(wall)\(sign)\(CivilCalendar.zeroPadded(magnitude / 3_600, 2)):\(CivilCalendar.zeroPadded(magnitude / 60 % 60, 2))"
    }

    @Test("the file has at least 60 cases, valid and refused")
    func enough() {
        #expect(Self.cases.count >= 60)
        #expect(Self.cases.filter { $0.error != nil }.count >= 10)
    }

    @Test("each valid case gives cronsim's fire times, one after another", arguments: cases.filter { $0.error == nil })
    func fireTimes(_ vector: Case) throws {
        let schedule = try CronSchedule(vector.expression, timeZone: vector.time_zone)
        var after = try #require(Self.seconds(vector.after ?? ""))
        var got = [String]()
        for _ in vector.next ?? [] {
            guard let next = schedule.nextFire(afterSeconds: after) else { break }
            got.append(Self.wallText(next, schedule.zone))
            after = next
        }
        #expect(got == vector.next, "\(vector.expression) in \(vector.time_zone) after \(vector.after ?? ""): \(vector.why)")
        if let expansion = vector.expands_to {
            let expanded = try CronSchedule(expansion, timeZone: vector.time_zone)
            let start = try #require(Self.seconds(vector.after ?? ""))
            #expect(expanded.nextFire(afterSeconds: start) == schedule.nextFire(afterSeconds: start), "\(vector.expression) is \(expansion)")
        }
    }

    @Test("each refused case is refused with a message naming what is wrong", arguments: cases.filter { $0.error != nil })
    func refused(_ vector: Case) {
        #expect(throws: CronExpression.Invalid.self, "\(vector.expression): \(vector.why)") { try CronExpression(vector.expression) }
    }

    @Test("the next fire time is strictly after the given instant, however many seconds into the minute")
    func strictlyAfter() throws {
        let schedule = try CronSchedule("0 3 * * *", timeZone: "UTC")
        let three = try #require(Self.seconds("2026-03-02T03:00:00Z"))
        #expect(schedule.nextFire(afterSeconds: three - 1) == three)
        #expect(schedule.nextFire(afterSeconds: three) == three + 86_400)
        #expect(schedule.nextFire(afterSeconds: three + 5) == three + 86_400, "a job that ran at 03:00:05 is next due tomorrow")
        #expect(schedule.nextFire(afterMicros: (three - 1) * 1_000_000 + 999_999) == three * 1_000_000)
    }

    @Test("schedules in words", arguments: [
        ("0 3 * * 1-5", "at 03:00 on Monday through Friday"),
        ("0 3 * * mon,tue,wed,thu,fri", "at 03:00 on Monday through Friday"),
        ("*/15 * * * *", "every 15 minutes"),
        ("* * * * *", "every minute"),
        ("@hourly", "every hour"),
        ("@daily", "at 00:00 every day"),
        ("@weekly", "at 00:00 on Sunday"),
        ("0 0 * * 7", "at 00:00 on Sunday"),
        ("0 0 1 * *", "at 00:00 on day 1 of the month"),
        ("30 4 1,15 * 5", "at 04:30 on day 1 and 15 of the month or on Friday"),
        ("0 12 * FEB-APR *", "at 12:00 every day in February through April"),
        ("0 9,17 * * 1,3,5", "at 09:00, 17:00 on Monday, Wednesday and Friday"),
        ("0 0 L * *", "at 00:00 on the last day of the month"),
        ("0 0 * * FRI#2", "at 00:00 on the second Friday of the month"),
        ("15 * * * *", "every hour at minute 15"),
    ])
    func words(expression: String, expected: String) throws {
        #expect(try CronExpression(expression).words == expected)
        #expect(try CronSchedule(expression, timeZone: "Europe/Berlin").words == expected + " (Europe/Berlin)")
    }

    @Test("unknown zones and bad expressions say which part is wrong")
    func errors() {
        #expect(throws: CronSchedule.UnknownZone.self) { try CronSchedule("* * * * *", timeZone: "Mars/Olympus") }
        #expect(throws: CronSchedule.UnknownZone.self) { try CronSchedule("* * * * *", timeZone: "GMT+1") }
        do {
            _ = try CronExpression("61 * * * *")
            Issue.record("61 accepted")
        } catch {
            #expect(error.description.contains("minute") && error.description.contains("61"), "\(error)")
        }
    }
}

extension ScheduleVectorTests.Case: CustomTestStringConvertible {
    var testDescription: String { "\(expression) [\(time_zone)] \(why)" }
}
