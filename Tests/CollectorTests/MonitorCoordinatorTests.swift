@testable import Collector
import Protocol
import Testing

/// The monitor's coordination as a table: each row is a situation played tick by tick, and every
/// tick's actions are what the row says. Times are milliseconds since the coordinator started; the
/// check period is 1 s, and applications 1 and 2 promise a beat every 2 s with 1 s of grace.
@Suite("Monitor coordinator")
struct MonitorCoordinatorTests {
    /// One tick: when, in which role, what arrived, and the actions expected (rendered as text:
    /// `stall`, `loss`, `swept`, `runs 1`, `record 1:new->up 2:up->late`).
    struct Step: Sendable, CustomStringConvertible {
        var at: Int64
        var role: MonitorRole = .alone
        var local: [(id: Int32, kind: RecordKind, at: Int64)] = []
        var remote: [(id: Int32, kind: RecordKind, at: Int64)] = []
        var notSeen: UInt64 = 0
        var consistentUntil: Int64 = .max
        var databaseMillis: Int64 = 0
        var lastSeen: [Int: Int64] = [:]
        /// What the shell reports after the tick: runs stored (default), or not.
        var runsStored = true
        var expect: [String]

        var description: String { "t=\(at) \(role)" }
    }

    static func tick(
        _ at: Int64, as role: MonitorRole = .alone, local: [(Int32, RecordKind, Int64)] = [], remote: [(Int32, RecordKind, Int64)] = [],
        notSeen: UInt64 = 0, consistentUntil: Int64 = .max, databaseMillis: Int64 = 0, lastSeen: [Int: Int64] = [:], runsStored: Bool = true,
        _ expect: [String]
    ) -> Step {
        Step(
            at: at, role: role, local: local.map { (id: $0.0, kind: $0.1, at: $0.2) }, remote: remote.map { (id: $0.0, kind: $0.1, at: $0.2) },
            notSeen: notSeen, consistentUntil: consistentUntil, databaseMillis: databaseMillis, lastSeen: lastSeen, runsStored: runsStored,
            expect: expect)
    }

    /// Ticks every `step` ms from `from` through `to` in `role`, each expecting `expect`.
    static func quiet(from: Int64, to: Int64, step: Int64 = 1_000, _ role: MonitorRole = .alone, _ expect: [String]) -> [Step] {
        stride(from: from, through: to, by: Int(step)).map { tick($0, as: role, expect) }
    }

    static let rows: [(String, [Step])] = [
        ("the first period after start convicts nobody; a beat is recorded at once",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(900, [])]),
        ("sweeps begin one period after start", [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_000, ["swept"])]),
        ("silence past the interval is late",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(2_600, ["swept", "record 1:up->late"])]),
        ("silence past the grace is down",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(2_600, ["swept", "record 1:up->late"]),
          tick(3_600, ["swept", "record 1:late->down"])]),
        ("late and down due in one tick are recorded in order",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(3_500, ["swept", "record 1:up->late 1:late->down"])]),
        ("a beat in time keeps it up",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(2_400, local: [(1, .beat, 2_400)], ["swept"]),
          tick(3_000, ["swept"])]),
        ("a wake-up more than two periods late is a stall: nobody convicted until a clean period passed",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(4_000, ["stall"]), tick(4_500, []),
          tick(5_000, ["swept", "record 1:up->late 1:late->down"])]),
        ("records that waited during a stall are taken in before anyone is judged",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(4_000, local: [(1, .beat, 3_900)], ["stall"]), tick(5_000, ["swept"])]),
        ("time the shell spent on PostgreSQL is not a stall",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(3_000, databaseMillis: 1_500, ["swept", "record 1:up->late"])]),
        ("arrivals lost for liveness hold convictions for one clean period",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(2_600, notSeen: 1, ["loss"]),
          tick(3_000, notSeen: 1, []), tick(3_600, notSeen: 1, ["swept", "record 1:up->late 1:late->down"])]),
        ("a loss that goes on keeps holding",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(2_600, notSeen: 1, ["loss"]),
          tick(3_400, notSeen: 2, ["loss"]), tick(4_000, notSeen: 2, []), tick(4_400, notSeen: 2, ["swept", "record 1:up->late 1:late->down"])]),
        ("a later arrival in last-seen (its event dropped) counts before judging",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, ["swept"]), tick(2_600, lastSeen: [1: 2_400], ["swept"])]),
        ("a leader judges only deadlines the global view is complete for",
         [tick(500, as: .leader, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, as: .leader, ["swept"]),
          tick(2_600, as: .leader, consistentUntil: 2_400, ["swept"]), tick(2_700, as: .leader, consistentUntil: 2_600, ["swept", "record 1:up->late"])]),
        ("a follower records nothing", [tick(500, as: .follower, local: [(1, .beat, 500)], []), tick(1_500, as: .follower, ["swept"])]),
        ("a follower that takes over records what it decided meanwhile, first",
         [tick(500, as: .follower, local: [(1, .beat, 500)], []), tick(1_000, as: .leader, local: [(2, .beat, 1_000)], ["swept", "record 1:new->up 2:new->up"])]),
        ("a follower forgets what it decided longer ago than the hand-over horizon",
         [tick(500, as: .follower, local: [(1, .beat, 500)], [])] + quiet(from: 2_000, to: 12_000, step: 2_000, .follower, ["swept"])
            + [tick(12_500, as: .leader, ["swept", "record 1:up->late 1:late->down"])]),
        ("degraded: only applications whose latest record came here are judged here",
         [tick(500, as: .degraded, local: [(1, .beat, 500)], remote: [(2, .beat, 500)], ["record 1:new->up"]), tick(1_500, as: .degraded, ["swept"]),
          tick(2_600, as: .degraded, ["swept", "record 1:up->late"])]),
        ("an application heard here again is judged here again when degraded",
         [tick(500, as: .degraded, remote: [(2, .beat, 500)], []), tick(1_000, as: .degraded, local: [(2, .beat, 1_000)], ["swept"]),
          tick(3_000, as: .degraded, ["swept", "record 2:up->late"])]),
        ("a remote beat older than what the board has adds nothing",
         [tick(500, local: [(1, .beat, 1_000)], remote: [(1, .beat, 900)], ["record 1:new->up"]), tick(1_500, ["swept"]),
          tick(3_100, ["swept", "record 1:up->late"])]),
        ("a fail at another collector takes the application down at once",
         [tick(500, local: [(1, .beat, 500)], ["record 1:new->up"]), tick(1_500, remote: [(1, .fail, 1_400)], ["swept", "record 1:up->down"])]),
        ("a stop pauses without an alert later", [tick(500, local: [(1, .beat, 500), (1, .stop, 600)], ["record 1:new->up 1:up->paused"]),
          tick(1_500, ["swept"]), tick(3_500, ["swept"])]),
        ("a closed run is stored", [tick(500, local: [(1, .start, 500), (1, .success, 900)], ["runs 1", "record 1:new->up"])]),
        ("a run not stored is offered again",
         [tick(500, local: [(1, .start, 500), (1, .success, 900)], runsStored: false, ["runs 1", "record 1:new->up"]), tick(700, ["runs 1"])]),
        ("an application the registry had not described yet is watched under the default policy",
         [tick(500, local: [(100, .beat, 500)], ["record 100:new->up"]), tick(2_000, ["swept"]), tick(4_000, ["swept"])]),
    ]

    static func render(_ action: MonitorAction) -> String {
        switch action {
        case .noteStall: "stall"
        case .noteLossHold: "loss"
        case .swept: "swept"
        case .storeRuns(let runs): "runs " + runs.keys.sorted().map(String.init).joined(separator: " ")
        case .openIncident(let open): "incident open \(open.cause.rawValue)"
        case .closeIncident(_, let ending, _): "incident close \(ending.rawValue)"
        case .recordTransitions(let transitions):
            "record " + transitions.map { "\($0.applicationID):\($0.transition.from)->\($0.transition.to)" }.joined(separator: " ")
        case .shareInstances(let sightings):
            "share " + sightings.map { "\($0.applicationID)/\($0.instance)" }.sorted().joined(separator: " ")
        }
    }

    static func row(_ id: Int32, _ kind: RecordKind, _ atMillis: Int64) -> HeartbeatRow {
        HeartbeatRow(applicationID: id, kind: kind, instance: 1, sequence: 1, receivedAtMicros: atMillis * 1_000, sentAtMicros: 0, status: 0)
    }

    /// A coordinator started at 0 with applications 1 and 2 registered, both `new`.
    static func coordinator() -> MonitorCoordinator {
        var coordinator = MonitorCoordinator(periodMicros: 1_000_000, nowMicros: 0)
        let policy = LivenessPolicy(intervalMicros: 2_000_000, graceMicros: 1_000_000)
        coordinator.loadPolicies([(1, policy, .new, nil), (2, policy, .new, nil)], nowMicros: 0)
        return coordinator
    }

    @Test("each situation's ticks decide exactly the actions in the table", arguments: rows)
    func table(_ name: String, _ steps: [Step]) {
        var coordinator = Self.coordinator()
        for step in steps {
            let lastSeen = step.lastSeen
            coordinator.receive(local: step.local.map { Self.row($0.id, $0.kind, $0.at) }[...], remote: step.remote.map { Self.row($0.id, $0.kind, $0.at) }[...])
            let actions = coordinator.tick(MonitorCoordinator.TickInput(
                nowMicros: step.at * 1_000, role: step.role, notSeenTotal: step.notSeen,
                consistentUntilMicros: step.consistentUntil == .max ? .max : step.consistentUntil * 1_000, databaseMicros: step.databaseMillis * 1_000,
                latestArrival: { lastSeen[$0].map { $0 * 1_000 } ?? .min }))
            #expect(actions.map(Self.render) == step.expect, "\(name), \(step)")
            if step.runsStored, actions.contains(where: { if case .storeRuns = $0 { true } else { false } }) { coordinator.runsStored() }
        }
    }

    @Test("taking over, a failed write and a registry change each ask for the stored statuses again")
    func reloads() {
        var coordinator = Self.coordinator()
        #expect(!coordinator.needsReload, "policies were just loaded")
        _ = coordinator.tick(.init(nowMicros: 100_000, role: .follower))
        #expect(!coordinator.needsReload, "a follower adopts nothing")
        _ = coordinator.tick(.init(nowMicros: 200_000, role: .leader))
        #expect(coordinator.needsReload, "a new leader adopts what its predecessor stored")
        coordinator.loadPolicies([], nowMicros: 200_000)
        _ = coordinator.tick(.init(nowMicros: 300_000, role: .leader))
        #expect(!coordinator.needsReload, "still leading: nothing to adopt")
        coordinator.recordingFailed()
        #expect(coordinator.needsReload)
        coordinator.loadPolicies([], nowMicros: 300_000)
        coordinator.registryChanged()
        #expect(coordinator.needsReload)
    }

    @Test("a transition another collector or an operator got to first is lost; the board adopts the stored status")
    func lostTransitions() {
        var coordinator = Self.coordinator()
        coordinator.receive(local: [Self.row(1, .beat, 500), Self.row(2, .beat, 500)][...])
        let actions = coordinator.tick(.init(nowMicros: 500_000, role: .alone))
        guard case .recordTransitions(let attempted) = actions.last else {
            Issue.record("no transitions to record: \(actions)")
            return
        }
        #expect(coordinator.lost(attempted, of: attempted).isEmpty)
        let lost = coordinator.lost(attempted.filter { $0.applicationID == 1 }, of: attempted)
        #expect(lost == [2])
        // An operator had paused application 2: once adopted, its silence convicts nobody.
        coordinator.adopt([(2, .paused, 400_000)], nowMicros: 500_000)
        #expect(coordinator.board.machine(for: 2).status == .paused)
        #expect(coordinator.board.machine(for: 2).sinceMicros == 400_000, "paused since the stored transition, not since it was adopted")
        var later = [String]()
        for at in stride(from: 1_500, through: 4_500, by: 1_000) {
            later += coordinator.tick(.init(nowMicros: Int64(at) * 1_000, role: .alone)).map(Self.render)
        }
        #expect(later == ["swept", "swept", "record 1:up->late", "swept", "record 1:late->down", "swept"])
    }

    @Test("transitions are written in rounds of one per application, each application's in its order")
    func rounds() {
        func pending(_ id: Int, _ from: LivenessStatus, _ to: LivenessStatus, _ at: Int64) -> PendingTransition {
            PendingTransition(applicationID: id, transition: LivenessTransition(from: from, to: to, atMicros: at, reason: .heartbeat))
        }
        let transitions = [pending(1, .up, .late, 1), pending(2, .new, .up, 2), pending(1, .late, .down, 3), pending(3, .new, .up, 4), pending(1, .down, .up, 5)]
        let rounds = TransitionWriter.rounds(of: transitions)
        #expect(rounds == [[transitions[0], transitions[1], transitions[3]], [transitions[2]], [transitions[4]]])
        #expect(TransitionWriter.rounds(of: []).isEmpty)
    }
}
