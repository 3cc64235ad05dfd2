import Collector
import Protocol
import Testing

/// Silences as tables: when a window is in force, whom a selector covers, what a request may be.
@Suite("Silences")
struct SilenceTests {
    /// 2026-12-06 (a Sunday) 00:00:00 UTC, in µs.
    static let sunday: Int64 = 1_796_515_200_000_000
    static let hour: Int64 = 3_600_000_000

    @Test("a one-off window holds from its start (inclusive) to its end (exclusive)")
    func between() {
        let silence = Silence(id: 1, selector: .all, window: .between(fromMicros: 100, untilMicros: 200))
        #expect([99, 100, 150, 199, 200].map { silence.isActive(atMicros: $0) } == [false, true, true, true, false])
        #expect(silence.nextStart(afterMicros: 50) == 100 && silence.nextStart(afterMicros: 100) == nil)
    }

    @Test("\"Sundays 02:00-04:00 Europe/Berlin\": in force from each fire time for its duration, in the zone's time")
    func recurring() throws {
        let schedule = try CronSchedule("0 2 * * 0", timeZone: "Europe/Berlin")
        let silence = Silence(id: 2, selector: .all, window: .recurring(schedule, durationMicros: 2 * Self.hour))
        // Berlin is UTC+1 in December: 02:00-04:00 local is 01:00-03:00 UTC.
        let cases: [(Int64, Bool)] = [
            (Self.sunday + Self.hour - 1, false), (Self.sunday + Self.hour, true), (Self.sunday + 2 * Self.hour, true),
            (Self.sunday + 3 * Self.hour - 1, true), (Self.sunday + 3 * Self.hour, false), (Self.sunday + 25 * Self.hour, false),
            (Self.sunday + 7 * 24 * Self.hour + Self.hour + 1, true),
        ]
        for (micros, active) in cases { #expect(silence.isActive(atMicros: micros) == active, "\(micros)") }
        #expect(silence.occurrence(atMicros: Self.sunday + 2 * Self.hour)?.endMicros == Self.sunday + 3 * Self.hour)
        #expect(silence.nextStart(afterMicros: Self.sunday + 2 * Self.hour) == Self.sunday + 7 * 24 * Self.hour + Self.hour)
    }

    @Test("selectors: all, a uuid list, labels contained, a name prefix (byte-wise)")
    func selectors() {
        let uuid = ApplicationUUID.random()
        let other = ApplicationUUID.random()
        let labels = ["team": "payments", "tier": "1"]
        let table: [(Silence.Selector, ApplicationUUID, String, [String: String], Bool)] = [
            (.all, uuid, "x", [:], true),
            (.applications([uuid]), uuid, "x", [:], true),
            (.applications([uuid]), other, "x", [:], false),
            (.labels(["team": "payments"]), uuid, "x", labels, true),
            (.labels(["team": "payments", "tier": "2"]), uuid, "x", labels, false),
            (.labels(["team": "payments"]), uuid, "x", [:], false),
            (.namePrefix("db-"), uuid, "db-primary", [:], true),
            (.namePrefix("db-"), uuid, "web", [:], false),
            (.namePrefix("é"), uuid, "e\u{301}", [:], false),
        ]
        for (selector, candidate, name, candidateLabels, expected) in table {
            let silence = Silence(id: 1, selector: selector, window: .between(fromMicros: 0, untilMicros: 10))
            #expect(silence.selects(uuid: candidate, name: name, labels: candidateLabels) == expected, "\(selector) \(name)")
        }
    }

    @Test("requests: exactly one selector and one window, each mistake names its field")
    func requests() {
        let now: Int64 = 1_000_000_000_000
        func problem(_ change: (inout SilenceRequest) -> Void) -> String? {
            var request = SilenceRequest()
            request.all = true
            request.untilMicros = now + Self.hour
            change(&request)
            do {
                _ = try request.silence(nowMicros: now)
                return nil
            } catch {
                if case .invalid(let field, _) = error { return field }
                return "\(error)"
            }
        }
        #expect(problem { _ in } == nil)
        #expect(problem { $0.all = false } == "selector")
        #expect(problem { $0.namePrefix = "db" } == "selector")
        #expect(problem { $0.all = false; $0.apps = ["not-a-uuid"] } == "apps")
        #expect(problem { $0.all = false; $0.apps = [] } == "apps")
        #expect(problem { $0.all = false; $0.labels = ["bad key": "x"] } == "labels")
        #expect(problem { $0.all = false; $0.namePrefix = "" } == "name_prefix")
        #expect(problem { $0.untilMicros = nil } == "until")
        #expect(problem { $0.untilMicros = now - 1 } == "until", "already over")
        #expect(problem { $0.fromMicros = now + 2 * Self.hour } == "until", "ends before it starts")
        #expect(problem { $0.untilMicros = nil; $0.cron = "0 2 * * 0" } == "duration_ms")
        #expect(problem { $0.untilMicros = nil; $0.cron = "0 2 * * 0"; $0.durationMillis = 59_999 } == "duration_ms")
        #expect(problem { $0.untilMicros = nil; $0.cron = "0 25 * * *"; $0.durationMillis = 60_000 } == "cron")
        #expect(problem { $0.untilMicros = nil; $0.cron = "0 2 * * 0"; $0.durationMillis = 60_000; $0.timeZone = "Mars/Olympus" } == "time_zone")
        #expect(problem { $0.cron = "0 2 * * 0"; $0.durationMillis = 60_000 } == "cron", "a window has one form")
        #expect(problem { $0.durationMillis = 60_000 } == "duration_ms")
        #expect(problem { $0.comment = String(repeating: "x", count: 1_001) } == "comment")
        #expect(problem { $0.comment = "a\u{202E}b" } == "comment")
        #expect(problem { $0.comment = "line one\nline two" } == nil)
    }
}
