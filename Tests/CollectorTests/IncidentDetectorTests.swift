import Collector
import Testing

/// The incident hold's decision as tables: ticks in, openings and closings out.
@Suite("Incident detector")
struct IncidentDetectorTests {
    static let second: Int64 = 1_000_000

    /// A fleet of `fleet` applications sending `perSecond` records a second for `seconds` from
    /// `start`, one tick a second: the running totals the shell would report.
    struct Fleet {
        var detector = IncidentDetector()
        var now: Int64 = 0
        var arrivals: UInt64 = 0
        var lost: UInt64 = 0
        var up: Int
        var log = [String]()

        init(up: Int, settings: IncidentDetector.Settings = IncidentDetector.Settings()) {
            self.up = up
            detector = IncidentDetector(settings: settings)
        }

        mutating func run(seconds: Int, perSecond: UInt64, late: Int = 0, lostPerSecond: UInt64 = 0) {
            for _ in 0..<seconds {
                now += IncidentDetectorTests.second
                arrivals += perSecond
                lost += lostPerSecond
                up -= late
                let change = detector.observe(.init(nowMicros: now, upCount: up, wentLate: late, arrivalsTotal: arrivals, lostTotal: lost))
                switch change {
                case .opened(let open): log.append("open@\(now / 1_000_000)s:\(open.cause.rawValue)")
                case .closed(_, let ending, let at): log.append("close@\(at / 1_000_000)s:\(ending.rawValue)")
                case nil: break
                }
            }
        }
    }

    @Test("a late burst over 20 % and over 50 of the applications up opens one incident; fewer do not")
    func lateBurst() {
        var burst = Fleet(up: 1_200)
        burst.run(seconds: 60, perSecond: 200)
        burst.run(seconds: 3, perSecond: 200, late: 100)  // 300 of 1,200 in 3 s: 25 %
        #expect(burst.log == ["open@63s:late_burst"])
        var few = Fleet(up: 1_200)
        few.run(seconds: 60, perSecond: 200)
        few.run(seconds: 20, perSecond: 200, late: 10)  // 200 of 1,200 over 20 s: 17 %
        #expect(few.log == [])
        var small = Fleet(up: 100)
        small.run(seconds: 60, perSecond: 20)
        small.run(seconds: 1, perSecond: 20, late: 40)  // 40 %, but not more than 50 applications
        #expect(small.log == [])
    }

    @Test("lost traffic: 100 or more records and 1 % or more of those arriving lost in the window")
    func lostTraffic() {
        var losing = Fleet(up: 1_000)
        losing.run(seconds: 40, perSecond: 1_000)
        losing.run(seconds: 1, perSecond: 1_000, lostPerSecond: 150)
        #expect(losing.log == [], "150 lost is under 1 % of the window's 30,000")
        losing.run(seconds: 1, perSecond: 1_000, lostPerSecond: 200)
        #expect(losing.log == ["open@42s:lost_traffic"], "350 of 30,350")
        var trickle = Fleet(up: 1_000)
        trickle.run(seconds: 40, perSecond: 100_000, lostPerSecond: 10)  // 0.01 %: normal life
        #expect(trickle.log == [])
    }

    @Test("arrivals falling below 20 % of their average open it, once an average of 10 a second is known")
    func arrivalsFell() {
        var fleet = Fleet(up: 1_000)
        fleet.run(seconds: 60, perSecond: 200)
        fleet.run(seconds: 10, perSecond: 30)
        #expect(fleet.log == ["open@65s:arrivals_fell"], "the 5-second rate falls under 40/s after 5 s")
        var young = Fleet(up: 10)
        young.run(seconds: 20, perSecond: 200)
        young.run(seconds: 10, perSecond: 0)
        #expect(young.log == [], "20 s of history is no average yet")
        var quiet = Fleet(up: 10)
        quiet.run(seconds: 60, perSecond: 5)
        quiet.run(seconds: 10, perSecond: 0)
        #expect(quiet.log == [], "5 a second is below the minimum average")
    }

    @Test("it closes when traffic is back and quiet for 10 s, or at the maximum hold; an outage longer than the hold is one incident")
    func closing() {
        var back = Fleet(up: 1_000)
        back.run(seconds: 60, perSecond: 200)
        back.run(seconds: 10, perSecond: 30)
        back.run(seconds: 60, perSecond: 200)
        #expect(back.log.count == 2 && back.log[0] == "open@65s:arrivals_fell" && back.log[1].hasSuffix(":traffic_returned"), "\(back.log)")

        var settings = IncidentDetector.Settings()
        settings.maximumHoldMicros = 60 * Self.second
        var gone = Fleet(up: 1_000, settings: settings)
        gone.run(seconds: 60, perSecond: 200)
        gone.run(seconds: 400, perSecond: 30)
        #expect(gone.log == ["open@65s:arrivals_fell", "close@125s:maximum_hold"], "\(gone.log)")
        gone.run(seconds: 60, perSecond: 200)
        gone.run(seconds: 10, perSecond: 0)
        #expect(gone.log.count == 3 && gone.log[2].hasSuffix(":arrivals_fell"), "cleared, then a new outage is a new incident: \(gone.log)")
    }
}

/// The incident hold inside the coordinator: who records it, in what order, and what is held.
@Suite("Monitor coordinator: incident hold")
struct CoordinatorIncidentTests {
    /// 100 applications (interval 2 s, grace 1 s) that all beat at 0.5 s; the hold lasts at most 10 s.
    static func coordinator() -> MonitorCoordinator {
        var settings = IncidentDetector.Settings()
        settings.maximumHoldMicros = 10_000_000
        var coordinator = MonitorCoordinator(periodMicros: 1_000_000, nowMicros: 0, incidentSettings: settings)
        let policy = LivenessPolicy(intervalMicros: 2_000_000, graceMicros: 1_000_000)
        coordinator.loadPolicies((1...100).map { ($0, policy, .new, nil) }, nowMicros: 0)
        let beats = (1...100).map { HeartbeatRow(applicationID: Int32($0), kind: .beat, instance: 1, sequence: 1, receivedAtMicros: 500_000, sentAtMicros: 0, status: 0) }
        coordinator.receive(local: beats[...])
        return coordinator
    }

    static func actions(_ coordinator: inout MonitorCoordinator, at millis: Int64, role: MonitorRole) -> [String] {
        coordinator.tick(.init(nowMicros: millis * 1_000, role: role)).compactMap { action in
            switch action {
            case .openIncident(let open): "open \(open.cause.rawValue) late=\(open.lateInWindow)"
            case .closeIncident(_, let ending, _): "close \(ending.rawValue)"
            case .recordTransitions(let transitions): "record \(transitions.count) \(transitions.first.map { "\($0.transition.from)->\($0.transition.to)" } ?? "")"
            default: nil
            }
        }
    }

    @Test("100 of 100 going late at once: the incident opens before the tick's transitions are recorded, and closes at the maximum hold")
    func opensAndCloses() {
        var coordinator = Self.coordinator()
        var log = [String]()
        for millis in stride(from: 1_000, through: 16_000, by: 500) {
            log += Self.actions(&coordinator, at: Int64(millis), role: .alone).map { "\(millis): \($0)" }
        }
        #expect(log == [
            "1000: record 100 new->up", "2500: open late_burst late=100", "2500: record 100 up->late", "3500: record 100 late->down",
            "12500: close maximum_hold",
        ], "\(log)")
        #expect(coordinator.openIncident == nil)
    }

    @Test("a follower opens nothing; when it takes over mid-incident it opens (finds) it first")
    func followerTakesOver() {
        var coordinator = Self.coordinator()
        var log = [String]()
        for millis in stride(from: 1_000, through: 4_000, by: 500) {
            log += Self.actions(&coordinator, at: Int64(millis), role: .follower)
        }
        #expect(log.isEmpty, "\(log)")
        #expect(coordinator.openIncident?.cause == .lateBurst)
        let takeover = Self.actions(&coordinator, at: 4_500, role: .leader)
        #expect(takeover.first == "open late_burst late=100", "\(takeover)")
        #expect(takeover.dropFirst().first == "record 300 new->up", "then the follower's kept transitions, oldest first: \(takeover)")
    }

    @Test("no incident hold when it is off; a few late applications never open one")
    func offAndFew() {
        var off = MonitorCoordinator(periodMicros: 1_000_000, nowMicros: 0, incidentSettings: nil)
        off.loadPolicies((1...100).map { ($0, LivenessPolicy(intervalMicros: 2_000_000, graceMicros: 1_000_000), .new, nil) }, nowMicros: 0)
        off.receive(local: (1...100).map { HeartbeatRow(applicationID: Int32($0), kind: .beat, instance: 1, sequence: 1, receivedAtMicros: 500_000, sentAtMicros: 0, status: 0) }[...])
        var log = [String]()
        for millis in stride(from: 1_000, through: 4_000, by: 500) { log += Self.actions(&off, at: Int64(millis), role: .alone) }
        #expect(!log.contains { $0.hasPrefix("open") } && off.openIncident == nil)
    }
}
