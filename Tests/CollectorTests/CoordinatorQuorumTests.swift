import Collector
import Protocol
import Testing

/// The coordinator's share of instance quorum: which instances it hands to the hot state, and
/// instances heard at other collectors counted before their applications' times.
@Suite("Monitor coordinator: instance quorum")
struct CoordinatorQuorumTests {
    /// Application 1 under min_instances 2 (interval 10 s, grace 5 s); application 2 without.
    static func coordinator() -> MonitorCoordinator {
        var coordinator = MonitorCoordinator(periodMicros: 1_000_000, nowMicros: 0, incidentSettings: nil)
        coordinator.loadPolicies([
            (1, LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000, minInstances: 2), .new, nil),
            (2, LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000), .new, nil),
        ], nowMicros: 0)
        return coordinator
    }

    static func row(_ id: Int32, _ kind: RecordKind, instance: UInt32, at: Int64) -> HeartbeatRow {
        HeartbeatRow(applicationID: id, kind: kind, instance: instance, sequence: 1, receivedAtMicros: at, sentAtMicros: at, status: 0)
    }

    static func shared(_ actions: [MonitorAction]) -> [String] {
        actions.flatMap { action -> [String] in
            guard case .shareInstances(let sightings) = action else { return [] }
            return sightings.map { "\($0.applicationID)/\($0.instance)@\($0.atMicros)" }
        }.sorted()
    }

    static func recorded(_ actions: [MonitorAction]) -> [String] {
        actions.flatMap { action -> [String] in
            guard case .recordTransitions(let transitions) = action else { return [] }
            return transitions.map { "\($0.applicationID):\($0.transition.from)->\($0.transition.to)" }
        }
    }

    /// What a leader records over ticks from 1.1 s to 3 s (past the start-up watch).
    static func leaderTicks(_ coordinator: inout MonitorCoordinator) -> [String] {
        stride(from: Int64(1_100_000), through: 3_000_000, by: 500_000).flatMap { now in
            recorded(coordinator.tick(.init(nowMicros: now, role: .leader)))
        }
    }

    @Test("a leader shares the latest beat of each instance of a quorum application, once; not other applications' or other kinds'")
    func sharesSightings() {
        var coordinator = Self.coordinator()
        coordinator.receive(local: [
            Self.row(1, .beat, instance: 7, at: 100), Self.row(1, .beat, instance: 7, at: 200), Self.row(1, .beat, instance: 8, at: 150),
            Self.row(1, .start, instance: 9, at: 160), Self.row(2, .beat, instance: 7, at: 100),
        ][...])
        let first = coordinator.tick(.init(nowMicros: 300, role: .leader))
        #expect(Self.shared(first) == ["1/7@200", "1/8@150"])
        #expect(Self.shared(coordinator.tick(.init(nowMicros: 400, role: .leader))).isEmpty, "each sighting is shared once")
    }

    @Test("alone (no Redis) nothing is shared")
    func aloneSharesNothing() {
        var coordinator = Self.coordinator()
        coordinator.receive(local: [Self.row(1, .beat, instance: 7, at: 100)][...])
        #expect(Self.shared(coordinator.tick(.init(nowMicros: 300, role: .alone))).isEmpty)
    }

    @Test("an instance heard elsewhere meets the quorum with one heard here: up, never short")
    func remoteInstanceCounts() {
        var coordinator = Self.coordinator()
        coordinator.receive(local: [Self.row(1, .beat, instance: 7, at: 100)][...])
        coordinator.receive(instances: [InstanceSighting(applicationID: 1, instance: 8, atMicros: 120)])
        coordinator.receive(local: [], remote: [Self.row(1, .beat, instance: 0, at: 120)][...])
        let recorded = Self.leaderTicks(&coordinator)
        #expect(recorded == ["1:new->up"])
    }

    @Test("without the other instance: the held move into short is recorded at the first sweep")
    func shortWithoutTheOther() {
        var coordinator = Self.coordinator()
        coordinator.receive(local: [Self.row(1, .beat, instance: 7, at: 100)][...])
        let recorded = Self.leaderTicks(&coordinator)
        #expect(recorded == ["1:new->short"])
    }

    @Test("a leader judges a held short only up to the time every collector's arrivals are in")
    func heldUntilConsistent() {
        var coordinator = Self.coordinator()
        for now: Int64 in [600_000, 1_200_000, 1_700_000] { _ = coordinator.tick(.init(nowMicros: now, role: .leader)) }  // past the start-up watch
        coordinator.receive(local: [Self.row(1, .beat, instance: 7, at: 2_000_000)][...])
        // Other collectors have reported only up to 1.5 s: the record at 2 s is not judged yet.
        #expect(Self.recorded(coordinator.tick(.init(nowMicros: 2_100_000, role: .leader, consistentUntilMicros: 1_500_000))).isEmpty)
        coordinator.receive(instances: [InstanceSighting(applicationID: 1, instance: 8, atMicros: 1_900_000)])
        let actions = coordinator.tick(.init(nowMicros: 2_300_000, role: .leader, consistentUntilMicros: 2_200_000))
        #expect(Self.recorded(actions) == ["1:new->up"])
    }
}
