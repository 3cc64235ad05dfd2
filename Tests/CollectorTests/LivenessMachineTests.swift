import Collector
import Protocol
import Testing

/// The liveness state machine as tables: events in, transitions out.
@Suite("Liveness state machine")
struct LivenessMachineTests {
    enum Event {
        case record(RecordKind, at: Int64, intervalMillis: UInt32 = 0)
        case check(at: Int64)
    }

    /// Interval 10 s, grace 5 s, runs at most 60 s.
    let policy = LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000, maxRunMicros: 60_000_000)

    func run(_ events: [Event], policy: LivenessPolicy? = nil) -> [String] {
        var machine = LivenessMachine()
        var log = [String]()
        for event in events {
            let transition: LivenessTransition?
            switch event {
            case .record(let kind, let at, let interval):
                transition = machine.receive(kind, atMicros: at, recordIntervalMillis: interval, policy: policy ?? self.policy)
            case .check(let at):
                transition = machine.check(nowMicros: at, policy: policy ?? self.policy)
            }
            if let transition {
                var line = "\(transition.from)->\(transition.to)@\(transition.atMicros / 1_000_000)s:\(transition.reason.rawValue)"
                if let duration = transition.runDurationMicros { line += " run=\(duration / 1_000_000)s" }
                log.append(line)
            }
        }
        return log
    }

    @Test("first contact, then late at the interval and down after the grace, each at its deadline")
    func lateThenDown() {
        #expect(run([.record(.beat, at: 100_000_000), .check(at: 109_000_000), .check(at: 110_000_000), .check(at: 114_999_999), .check(at: 115_000_000)])
            == ["new->up@100s:heartbeat", "up->late@110s:missed_interval", "late->down@115s:missed_grace"])
    }

    @Test("a check long after both deadlines steps through late, then down")
    func bothDeadlinesAtOnce() {
        #expect(run([.record(.beat, at: 0), .check(at: 100_000_000), .check(at: 100_000_000), .check(at: 100_000_000)])
            == ["new->up@0s:heartbeat", "up->late@10s:missed_interval", "late->down@15s:missed_grace"])
    }

    @Test("beats within the interval keep it up; a record recovers late and down")
    func recovery() {
        #expect(run([.record(.beat, at: 0), .record(.beat, at: 9_000_000), .check(at: 18_000_000), .check(at: 19_000_000),
                     .record(.beat, at: 20_000_000), .check(at: 60_000_000), .check(at: 60_000_000), .record(.success, at: 61_000_000)])
            == ["new->up@0s:heartbeat", "up->late@19s:missed_interval", "late->up@20s:heartbeat", "up->late@30s:missed_interval",
                "late->down@35s:missed_grace", "down->up@61s:heartbeat"])
    }

    @Test("fail goes down at once; stop pauses with no deadline; the next record resumes")
    func failAndStop() {
        #expect(run([.record(.beat, at: 0), .record(.fail, at: 1_000_000), .record(.beat, at: 2_000_000), .record(.stop, at: 3_000_000),
                     .check(at: 1_000_000_000), .record(.beat, at: 1_001_000_000)])
            == ["new->up@0s:heartbeat", "up->down@1s:failed", "down->up@2s:heartbeat", "up->paused@3s:stopped", "paused->up@1001s:heartbeat"])
    }

    @Test("a run's duration travels with the record that closes it; a run past its maximum goes down")
    func runs() {
        #expect(run([.record(.start, at: 0), .record(.success, at: 42_000_000)]) == ["new->up@0s:heartbeat"])
        #expect(run([.record(.start, at: 0), .record(.fail, at: 7_000_000)]) == ["new->up@0s:heartbeat", "up->down@7s:failed run=7s"])
        let long = LivenessPolicy(intervalMicros: 1_000_000_000, graceMicros: 0, maxRunMicros: 60_000_000)
        #expect(run([.record(.start, at: 0), .check(at: 59_000_000), .check(at: 60_000_000)], policy: long)
            == ["new->up@0s:heartbeat", "up->down@60s:run_timeout"])
    }

    @Test("the record's interval is used only when the registry has none")
    func recordInterval() {
        let noRegistryInterval = LivenessPolicy(intervalMicros: 0, graceMicros: 1_000_000)
        #expect(run([.record(.beat, at: 0, intervalMillis: 3_000), .check(at: 3_000_000), .check(at: 4_000_000)], policy: noRegistryInterval)
            == ["new->up@0s:heartbeat", "up->late@3s:missed_interval", "late->down@4s:missed_grace"])
        #expect(run([.record(.beat, at: 0, intervalMillis: 3_000), .check(at: 9_000_000), .check(at: 10_000_000)])
            == ["new->up@0s:heartbeat", "up->late@10s:missed_interval"], "the registry's 10 s wins over the record's 3 s")
        #expect(run([.record(.beat, at: 0), .check(at: 1_000_000_000)], policy: noRegistryInterval)
            == ["new->up@0s:heartbeat"], "no interval anywhere: no deadline")
    }

    @Test("a never-heard application stays new")
    func neverHeard() {
        #expect(run([.check(at: 1_000_000_000)]) == [])
    }
}
