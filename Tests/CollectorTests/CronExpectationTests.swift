import Collector
import Foundation
import Protocol
import Testing

/// The liveness machine under cron expectations, as tables: records and clock checks in (at wall
/// times written in UTC), transitions out with the instant each took effect.
@Suite("Cron expectations in the liveness machine")
struct CronExpectationTests {
    enum Event {
        case record(RecordKind, at: String)
        case check(at: String)
    }

    static func micros(_ text: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        return Int64(formatter.date(from: text)!.timeIntervalSince1970) * 1_000_000
    }

    static func text(_ micros: Int64) -> String {
        String(CivilCalendar.rfc3339(micros: micros).prefix(19)) + "Z"
    }

    static func policy(_ expression: String, zone: String = "UTC", graceMinutes: Int64, maxRunMinutes: Int64? = nil) -> LivenessPolicy {
        LivenessPolicy(
            expectation: .cron(try! CronSchedule(expression, timeZone: zone), graceMicros: graceMinutes * 60_000_000),
            maxRunMicros: maxRunMinutes.map { $0 * 60_000_000 })
    }

    static func run(_ events: [Event], _ policy: LivenessPolicy) -> [String] {
        var machine = LivenessMachine()
        var log = [String]()
        for event in events {
            let transition: LivenessTransition?
            switch event {
            case .record(let kind, let at): transition = machine.receive(kind, atMicros: micros(at), recordIntervalMillis: 0, policy: policy)
            case .check(let at): transition = machine.check(nowMicros: micros(at), policy: policy)
            }
            if let transition { log.append("\(transition.to)@\(text(transition.atMicros)):\(transition.reason.rawValue)") }
        }
        return log
    }

    static let cases: [(String, LivenessPolicy, [Event], [String])] = [
        ("a missed run: late at its fire time + grace, down a grace later",
         policy("0 3 * * *", graceMinutes: 10),
         [.record(.success, at: "2026-03-02T03:00:05Z"), .check(at: "2026-03-03T03:09:59Z"), .check(at: "2026-03-03T03:10:00Z"),
          .check(at: "2026-03-03T03:19:59Z"), .check(at: "2026-03-03T03:20:00Z"), .record(.success, at: "2026-03-04T03:00:02Z")],
         ["up@2026-03-02T03:00:05Z:heartbeat", "late@2026-03-03T03:10:00Z:missed_interval", "down@2026-03-03T03:20:00Z:missed_grace",
          "up@2026-03-04T03:00:02Z:heartbeat"]),
        ("a run on time keeps it up: the next is expected at the next fire time",
         policy("0 3 * * *", graceMinutes: 10),
         [.record(.success, at: "2026-03-02T03:00:05Z"), .record(.success, at: "2026-03-03T03:04:00Z"), .check(at: "2026-03-04T03:09:59Z"),
          .check(at: "2026-03-04T03:10:00Z")],
         ["up@2026-03-02T03:00:05Z:heartbeat", "late@2026-03-04T03:10:00Z:missed_interval"]),
        ("an early run counts for the fire time before it: today's 03:00 is still expected",
         policy("0 3 * * *", graceMinutes: 10),
         [.record(.success, at: "2026-03-02T03:00:05Z"), .record(.success, at: "2026-03-03T02:59:00Z"), .check(at: "2026-03-03T03:10:00Z")],
         ["up@2026-03-02T03:00:05Z:heartbeat", "late@2026-03-03T03:10:00Z:missed_interval"]),
        ("weekdays: Friday's run is next expected on Monday, not Saturday",
         policy("0 3 * * 1-5", graceMinutes: 30),
         [.record(.success, at: "2026-03-06T03:01:00Z"), .check(at: "2026-03-07T03:30:00Z"), .check(at: "2026-03-09T03:29:59Z"),
          .check(at: "2026-03-09T03:30:00Z")],
         ["up@2026-03-06T03:01:00Z:heartbeat", "late@2026-03-09T03:30:00Z:missed_interval"]),
        ("a fire time in the spring gap (02:30 Berlin on 29 March) is expected at 03:00 CEST",
         policy("30 2 * * *", zone: "Europe/Berlin", graceMinutes: 5),
         [.record(.success, at: "2026-03-28T01:30:10Z"), .check(at: "2026-03-29T01:04:59Z"), .check(at: "2026-03-29T01:05:00Z")],
         ["up@2026-03-28T01:30:10Z:heartbeat", "late@2026-03-29T01:05:00Z:missed_interval"]),
        ("fail is down at once whatever the schedule; the next record brings it back",
         policy("0 3 * * *", graceMinutes: 10),
         [.record(.start, at: "2026-03-02T03:00:00Z"), .record(.fail, at: "2026-03-02T03:02:00Z"), .check(at: "2026-03-03T04:00:00Z"),
          .record(.success, at: "2026-03-03T03:05:00Z")],
         ["up@2026-03-02T03:00:00Z:heartbeat", "down@2026-03-02T03:02:00Z:failed", "up@2026-03-03T03:05:00Z:heartbeat"]),
        ("a run longer than max_run is down at start + max_run, before any fire time",
         policy("0 3 * * *", graceMinutes: 10, maxRunMinutes: 30),
         [.record(.start, at: "2026-03-02T03:00:00Z"), .check(at: "2026-03-02T03:29:59Z"), .check(at: "2026-03-02T03:30:00Z")],
         ["up@2026-03-02T03:00:00Z:heartbeat", "down@2026-03-02T03:30:00Z:run_timeout"]),
        ("no grace: late and down both at the fire time, one check each",
         policy("*/5 * * * *", graceMinutes: 0),
         [.record(.beat, at: "2026-03-02T10:00:30Z"), .check(at: "2026-03-02T10:04:59Z"), .check(at: "2026-03-02T10:05:00Z"),
          .check(at: "2026-03-02T10:05:00Z")],
         ["up@2026-03-02T10:00:30Z:heartbeat", "late@2026-03-02T10:05:00Z:missed_interval", "down@2026-03-02T10:05:00Z:missed_grace"]),
        ("stop pauses it: no deadline while paused",
         policy("* * * * *", graceMinutes: 1),
         [.record(.beat, at: "2026-03-02T10:00:00Z"), .record(.stop, at: "2026-03-02T10:00:30Z"), .check(at: "2026-03-05T10:00:00Z")],
         ["up@2026-03-02T10:00:00Z:heartbeat", "paused@2026-03-02T10:00:30Z:stopped"]),
    ]

    @Test("transitions under cron expectations", arguments: cases.indices)
    func table(_ index: Int) {
        let (name, policy, events, expected) = Self.cases[index]
        #expect(Self.run(events, policy) == expected, "\(name)")
    }

    @Test("the next expected record: the interval's end, or the next fire time; the registry row picks the kind")
    func nextExpected() throws {
        let arrival = Self.micros("2026-03-06T03:01:00Z")  // a Friday
        let every = Expectation(intervalMillis: 60_000, schedule: nil, graceMillis: 5_000)
        #expect(every == .every(intervalMicros: 60_000_000, graceMicros: 5_000_000))
        #expect(every.nextExpected(afterArrivalMicros: arrival) == arrival + 60_000_000)
        let cron = Expectation(intervalMillis: 0, schedule: try CronSchedule("0 3 * * 1-5", timeZone: "UTC"), graceMillis: 600_000)
        #expect(cron.nextExpected(afterArrivalMicros: arrival) == Self.micros("2026-03-09T03:00:00Z"), "Monday, not Saturday")
        #expect(cron.deadlines(afterArrivalMicros: arrival, recordIntervalMicros: 0)?.down == Self.micros("2026-03-09T03:20:00Z"))
    }

    @Test("the board keeps a cron application's next deadline and convicts it only when due")
    func board() {
        var board = LivenessBoard(capacity: 2, defaultPolicy: LivenessPolicy(intervalMicros: 3_600_000_000, graceMicros: 0))
        board.setPolicy(Self.policy("*/10 * * * *", graceMinutes: 1), for: 1)
        _ = board.receive(.beat, for: 0, atMicros: Self.micros("2026-03-02T10:00:00Z"), recordIntervalMillis: 0)
        _ = board.receive(.beat, for: 1, atMicros: Self.micros("2026-03-02T10:00:00Z"), recordIntervalMillis: 0)
        #expect(board.viewEntry(for: 1, latestArrival: 0).nextDeadlineMicros == Self.micros("2026-03-02T10:11:00Z"))
        var transitions = [PendingTransition]()
        board.sweep(nowMicros: Self.micros("2026-03-02T10:10:59Z"), into: &transitions)
        #expect(transitions.isEmpty)
        board.sweep(nowMicros: Self.micros("2026-03-02T10:11:00Z"), into: &transitions)
        #expect(transitions.map(\.applicationID) == [1] && transitions.first?.transition.to == .late)
    }
}
