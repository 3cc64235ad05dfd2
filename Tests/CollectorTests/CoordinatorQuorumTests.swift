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

    /// What a leader records over ticks every 0.5 s up to `until` seconds; before each tick it gets
    /// the local records (instance, at seconds) and the remote sightings (instance, at, delivered
    /// at seconds) due by then, and other collectors' arrivals are in up to `lag` seconds ago.
    static func drive(
        _ coordinator: inout MonitorCoordinator, until: Double, local: [(UInt32, Double)], remote: [(UInt32, Double, delivered: Double)] = [],
        lag: Double = 0
    ) -> [String] {
        func micros(_ seconds: Double) -> Int64 { Int64(seconds * 1_000_000) }
        var recorded = [String]()
        var previous = 0.0
        for now in stride(from: 0.5, through: until, by: 0.5) {
            coordinator.receive(instances: remote.filter { $0.delivered > previous && $0.delivered <= now }.map {
                InstanceSighting(applicationID: 1, instance: $0.0, atMicros: micros($0.1))
            })
            coordinator.receive(local: local.filter { $0.1 > previous && $0.1 <= now }.map { row(1, .beat, instance: $0.0, at: micros($0.1)) }[...])
            recorded += Self.recorded(coordinator.tick(.init(nowMicros: micros(now), role: .leader, consistentUntilMicros: micros(now - lag))))
            previous = now
        }
        return recorded
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

    /// Instance 7 beats here every 5 s; 8 is heard elsewhere at 0 s and 5 s, or every 5 s.
    static let here: [(UInt32, Double)] = stride(from: 0.1, through: 30, by: 5).map { (7, $0) }

    @Test("an instance heard elsewhere meets the quorum with one heard here: up, never short; without it, short when watching ends")
    func remoteInstanceCounts() {
        var withRemote = Self.coordinator()
        let everyFive = stride(from: 0.1, through: 30, by: 5).map { (UInt32(8), $0, delivered: $0 + 0.2) }
        #expect(Self.drive(&withRemote, until: 30, local: Self.here, remote: everyFive) == ["1:new->up"])
        var alone = Self.coordinator()
        #expect(Self.drive(&alone, until: 30, local: Self.here) == ["1:new->up", "1:up->short"], "8 never heard: short once 15 s of watching end")
    }

    @Test("a leader judges a record's move into short only once every collector's arrivals up to it are in")
    func heldUntilConsistent() {
        // 8 is heard elsewhere at 0.1 and 5.1 s (counting until 20.1 s), then at 20 s — a sighting
        // that reaches this collector only at 21.5 s, after 7's record at 20.6 s found 8 expired.
        let remote = [(UInt32(8), 0.1, delivered: 0.3), (8, 5.1, delivered: 5.3), (8, 20, delivered: 21.5)]
        let local = Self.here + [(UInt32(7), 20.6)]
        var consistent = Self.coordinator()
        #expect(Self.drive(&consistent, until: 30, local: local, remote: remote, lag: 1.5) == ["1:new->up"])
        var late = Self.coordinator()
        let missing = Array(remote.prefix(2))
        #expect(Self.drive(&late, until: 30, local: local, remote: missing, lag: 1.5) == ["1:new->up", "1:up->short"], "without the sighting it is short")
        var hasty = Self.coordinator()
        #expect(Self.drive(&hasty, until: 30, local: local, remote: remote, lag: 0) == ["1:new->up", "1:up->short", "1:short->up"],
                "judged before the sighting is in, it would flap")
    }
}
