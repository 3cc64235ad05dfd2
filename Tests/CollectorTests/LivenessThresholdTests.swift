import Collector
import Foundation
import Protocol
import Testing

/// `down_after` and `up_after` as tables: records and clock checks in, transitions out.
@Suite("Liveness thresholds")
struct LivenessThresholdTests {
    enum Event {
        case record(RecordKind, at: Int64)
        case check(at: Int64)
    }

    /// Interval 10 s, grace 5 s, with the given thresholds.
    static func policy(downAfter: Int = 1, upAfter: Int = 1) -> LivenessPolicy {
        LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000, downAfter: downAfter, upAfter: upAfter)
    }

    func run(_ events: [Event], _ policy: LivenessPolicy) -> [String] {
        var machine = LivenessMachine()
        var log = [String]()
        for event in events {
            let transition = switch event {
            case .record(let kind, let at): machine.receive(kind, atMicros: at * 1_000_000, recordIntervalMillis: 0, policy: policy)
            case .check(let at): machine.check(nowMicros: at * 1_000_000, policy: policy)
            }
            if let transition { log.append("\(transition.from)->\(transition.to)@\(transition.atMicros / 1_000_000)s:\(transition.reason.rawValue)") }
        }
        return log
    }

    @Test("down_after 3: late at the first missed deadline, down only at the third (3 intervals + grace)")
    func downAfterMissedDeadlines() {
        let log = run([.record(.beat, at: 0), .check(at: 10), .check(at: 20), .check(at: 34), .check(at: 35)], Self.policy(downAfter: 3))
        #expect(log == ["new->up@0s:heartbeat", "up->late@10s:missed_interval", "late->down@35s:missed_grace"])
    }

    @Test("down_after 3: a record before the third deadline recovers from late and starts the count again")
    func downAfterRecovery() {
        let log = run([.record(.beat, at: 0), .check(at: 30), .record(.beat, at: 31), .check(at: 41), .check(at: 65), .check(at: 66)],
                      Self.policy(downAfter: 3))
        #expect(log == ["new->up@0s:heartbeat", "up->late@10s:missed_interval", "late->up@31s:heartbeat", "up->late@41s:missed_interval",
                        "late->down@66s:missed_grace"])
    }

    @Test("down_after 3: two fails are late, the third consecutive one is down; a good record in between resets the count")
    func downAfterFails() {
        let policy = Self.policy(downAfter: 3)
        #expect(run([.record(.beat, at: 0), .record(.fail, at: 1), .record(.fail, at: 2), .record(.fail, at: 3)], policy)
            == ["new->up@0s:heartbeat", "up->late@1s:failed", "late->down@3s:failed"])
        #expect(run([.record(.fail, at: 1), .record(.fail, at: 2), .record(.success, at: 3), .record(.fail, at: 4), .record(.fail, at: 5)], policy)
            == ["new->late@1s:failed", "late->up@3s:heartbeat", "up->late@4s:failed"])
    }

    @Test("down_after 1 (the default): fail is down at once, interval + grace is down")
    func downAfterDefault() {
        #expect(run([.record(.beat, at: 0), .record(.fail, at: 1)], Self.policy()) == ["new->up@0s:heartbeat", "up->down@1s:failed"])
        #expect(run([.record(.beat, at: 0), .check(at: 10), .check(at: 15)], Self.policy())
            == ["new->up@0s:heartbeat", "up->late@10s:missed_interval", "late->down@15s:missed_grace"])
    }

    @Test("up_after 3: a down application is up at the third consecutive on-time record")
    func upAfterOnTime() {
        let policy = Self.policy(upAfter: 3)
        #expect(run([.record(.beat, at: 0), .record(.fail, at: 1), .record(.beat, at: 2), .record(.beat, at: 12), .record(.beat, at: 22)], policy)
            == ["new->up@0s:heartbeat", "up->down@1s:failed", "down->up@22s:heartbeat"])
    }

    @Test("up_after 3: a late record restarts the count at 1, a fail at 0, a start neither counts nor breaks it")
    func upAfterStreaks() {
        let policy = Self.policy(upAfter: 3)
        // 2 → 12 on time (2), 12 → 40 late (back to 1), then 45 and 50 on time: up at 50.
        #expect(run([.record(.fail, at: 0), .record(.beat, at: 2), .record(.beat, at: 12), .record(.beat, at: 40), .record(.beat, at: 45),
                     .record(.beat, at: 50)], policy)
            == ["new->down@0s:failed", "down->up@50s:heartbeat"])
        #expect(run([.record(.fail, at: 0), .record(.beat, at: 1), .record(.beat, at: 2), .record(.fail, at: 3), .record(.beat, at: 4),
                     .record(.beat, at: 5), .record(.beat, at: 6)], policy)
            == ["new->down@0s:failed", "down->up@6s:heartbeat"])
        #expect(run([.record(.fail, at: 0), .record(.start, at: 1), .record(.success, at: 2), .record(.start, at: 3),
                     .record(.success, at: 4), .record(.start, at: 5), .record(.success, at: 6)], policy)
            == ["new->down@0s:failed", "down->up@6s:heartbeat"])
    }

    @Test("up_after applies only to down: late and paused recover at the first record; stop resets the counts")
    func upAfterOnlyFromDown() {
        let policy = Self.policy(downAfter: 2, upAfter: 3)
        #expect(run([.record(.beat, at: 0), .check(at: 10), .record(.beat, at: 11)], policy)
            == ["new->up@0s:heartbeat", "up->late@10s:missed_interval", "late->up@11s:heartbeat"])
        #expect(run([.record(.fail, at: 0), .record(.stop, at: 1), .record(.fail, at: 2), .record(.beat, at: 3)], policy)
            == ["new->late@0s:failed", "late->paused@1s:stopped", "paused->late@2s:failed", "late->up@3s:heartbeat"])
    }

    @Test("a schedule with down_after 2: late a grace after the first fire time, down two graces after the second")
    func cronDownAfter() throws {
        let schedule = try CronSchedule("0 3 * * *", timeZone: "UTC")
        let arrival: Int64 = 1_767_229_200_000_000  // 2026-01-01T01:00:00Z
        let deadlines = Expectation.cron(schedule, graceMicros: 600_000_000)
            .deadlines(afterArrivalMicros: arrival, recordIntervalMicros: 0, missedBeforeDown: 2)
        let firstFire = arrival + 2 * 3_600_000_000
        #expect(deadlines?.late == firstFire + 600_000_000)
        #expect(deadlines?.down == firstFire + 86_400_000_000 + 1_200_000_000)
    }
}
