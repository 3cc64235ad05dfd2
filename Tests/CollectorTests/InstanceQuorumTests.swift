@testable import Collector
import Foundation
import Protocol
import Testing

/// Instance quorum (`min_instances`) as tables: records from instances and sweeps in, the board's
/// transitions out (`Spec/liveness.md`, "Instance quorum").
@Suite("Instance quorum")
struct InstanceQuorumTests {
    enum Event {
        /// A record of `kind` from `instance`, at `at` seconds.
        case record(RecordKind, instance: UInt32, at: Int64)
        /// Another collector heard `instance` at `at` seconds.
        case remote(instance: UInt32, at: Int64)
        /// A sweep at `at` seconds.
        case sweep(at: Int64)
        /// The registry sets `min_instances`.
        case minimum(Int)
    }

    /// Interval 10 s, grace 5 s: an instance counts for 15 s after its record.
    static func policy(minInstances: Int) -> LivenessPolicy {
        LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000, minInstances: minInstances)
    }

    func run(_ events: [Event], minInstances: Int = 3) -> [String] {
        var board = LivenessBoard(capacity: 4, defaultPolicy: Self.policy(minInstances: 1))
        board.setPolicy(Self.policy(minInstances: minInstances), for: 1)
        var log = [String]()
        func note(_ transition: LivenessTransition?) {
            if let transition { log.append("\(transition.from)->\(transition.to)@\(transition.atMicros / 1_000_000)s:\(transition.reason.rawValue)") }
        }
        for event in events {
            switch event {
            case .record(let kind, let instance, let at):
                note(board.receive(kind, for: 1, atMicros: at * 1_000_000, recordIntervalMillis: 0, instance: instance))
            case .remote(let instance, let at):
                board.heard(instance, for: 1, atMicros: at * 1_000_000)
            case .sweep(let at):
                var transitions = [PendingTransition]()
                board.sweep(nowMicros: at * 1_000_000, into: &transitions)
                transitions.forEach { note($0.transition) }
            case .minimum(let minimum):
                board.setPolicy(Self.policy(minInstances: minimum), for: 1)
            }
        }
        return log
    }

    /// Instances 1, 2 and 3 beat every 10 s from `from` to `to` seconds, except `skipping` after `after`.
    static func beats(from: Int64, to: Int64, skipping: UInt32? = nil, after: Int64 = .max) -> [Event] {
        var events = [Event]()
        for at in stride(from: from, through: to, by: 10) {
            for instance: UInt32 in 1...3 where !(instance == skipping && at > after) {
                events.append(.record(.beat, instance: instance, at: at + Int64(instance) - 1))
            }
            events.append(.sweep(at: at + 5))
        }
        return events
    }

    @Test("two instances of three: up at the first record, short when the first interval + grace of watching ends without the third, up when it reports")
    func shortUntilQuorum() {
        let log = run([
            .record(.beat, instance: 1, at: 0), .record(.beat, instance: 2, at: 1), .sweep(at: 2), .record(.beat, instance: 1, at: 10),
            .record(.beat, instance: 2, at: 11), .sweep(at: 14), .sweep(at: 15), .record(.beat, instance: 3, at: 16),
        ])
        #expect(log == ["new->up@0s:heartbeat", "up->short@15s:instances_missing", "short->up@16s:instances_returned"])
    }

    @Test("instances that start seconds apart, or a restarted monitor that knows none, are not short while they have time to report")
    func watchingTime() {
        #expect(run([.record(.beat, instance: 1, at: 0), .sweep(at: 5), .record(.beat, instance: 2, at: 6), .sweep(at: 8),
                     .record(.beat, instance: 3, at: 9), .record(.beat, instance: 1, at: 10), .sweep(at: 14), .sweep(at: 16)]) == ["new->up@0s:heartbeat"])
        var board = LivenessBoard(capacity: 4, defaultPolicy: Self.policy(minInstances: 1))
        board.setPolicy(Self.policy(minInstances: 3), for: 1, nowMicros: 100_000_000)
        board.adopt(status: .up, for: 1, nowMicros: 100_000_000)
        var transitions = [PendingTransition]()
        board.sweep(nowMicros: 101_000_000, into: &transitions)
        #expect(transitions.isEmpty, "adopted up: the instances have interval + grace to be heard")
        for at: Int64 in [105_000_000, 112_000_000] {
            for instance: UInt32 in 1...3 { _ = board.receive(.beat, for: 1, atMicros: at, recordIntervalMillis: 0, instance: instance) }
        }
        board.sweep(nowMicros: 116_000_000, into: &transitions)
        #expect(transitions.isEmpty && board.machine(for: 1).status == .up)
    }

    @Test("a record's move into short waits for the sweep: an instance heard elsewhere before it is judged keeps it up")
    func shortHeldForTheSweep() {
        // 3 counts until 17 s; at 18 s a record from 1 finds two of three, but 3 was heard elsewhere at 17.5 s.
        let early: [Event] = Self.beats(from: 0, to: 0) + [.record(.beat, instance: 1, at: 10), .record(.beat, instance: 2, at: 11),
                                                           .sweep(at: 16), .record(.beat, instance: 1, at: 18)]
        #expect(run(early + [.remote(instance: 3, at: 17), .sweep(at: 19)]) == ["new->up@0s:heartbeat"])
        #expect(run(early + [.sweep(at: 19)]) == ["new->up@0s:heartbeat", "up->short@18s:instances_missing"])
    }

    @Test("one of three killed: short one interval + grace after its last record, up when it returns")
    func oneKilled() {
        // Instance 3 (beating at 2, 12, 22 s) stops after 22 s: it counts until 37 s.
        let log = run(Self.beats(from: 0, to: 30, skipping: 3, after: 20) + [.sweep(at: 37)] + Self.beats(from: 40, to: 50, skipping: 3, after: 20)
            + [.record(.beat, instance: 3, at: 61), .sweep(at: 62)])
        #expect(log == ["new->up@0s:heartbeat", "up->short@37s:instances_missing",
                        "short->up@61s:instances_returned"])
    }

    @Test("a rolling restart: each instance stops and a new one takes its place; never short, never paused")
    func rollingRestart() {
        let events: [Event] = Self.beats(from: 0, to: 10) + [
            // 1 stops, 11 starts.
            .record(.stop, instance: 1, at: 20), .sweep(at: 21), .record(.beat, instance: 2, at: 21), .record(.beat, instance: 3, at: 22),
            .record(.beat, instance: 11, at: 24), .sweep(at: 26),
            // 2 stops, 12 starts.
            .record(.stop, instance: 2, at: 30), .sweep(at: 31), .record(.beat, instance: 3, at: 32), .record(.beat, instance: 11, at: 34),
            .record(.beat, instance: 12, at: 34), .sweep(at: 36),
            // 3 stops, 13 starts.
            .record(.stop, instance: 3, at: 40), .sweep(at: 41), .record(.beat, instance: 11, at: 44), .record(.beat, instance: 12, at: 44),
            .record(.beat, instance: 13, at: 44), .sweep(at: 46),
            .record(.beat, instance: 11, at: 54), .record(.beat, instance: 12, at: 54), .record(.beat, instance: 13, at: 54), .sweep(at: 63),
        ]
        #expect(run(events) == ["new->up@0s:heartbeat"])
    }

    @Test("every instance stops: paused only at the last stop; the first record after is up, with the stopped places excused")
    func allStop() {
        let log = run(Self.beats(from: 0, to: 0) + [
            .record(.stop, instance: 1, at: 5), .record(.stop, instance: 2, at: 6), .record(.stop, instance: 3, at: 7),
            .record(.beat, instance: 21, at: 20), .sweep(at: 21), .record(.beat, instance: 22, at: 22), .record(.beat, instance: 23, at: 23),
        ])
        #expect(log == ["new->up@0s:heartbeat", "up->paused@7s:stopped", "paused->up@20s:heartbeat"])
    }

    @Test("a stopped instance is excused, a crashed one is not: one stops, another dies → short")
    func stopThenCrash() {
        // 1 stops at 15 s; 2 beats at 11 s, then dies (counts until 26 s); 3 keeps beating.
        let events: [Event] = Self.beats(from: 0, to: 10) + [
            .record(.stop, instance: 1, at: 15), .record(.beat, instance: 3, at: 22), .sweep(at: 25), .sweep(at: 26),
            .record(.beat, instance: 3, at: 32), .sweep(at: 33),
        ]
        #expect(run(events) == ["new->up@0s:heartbeat", "up->short@26s:instances_missing"])
    }

    @Test("an instance heard at another collector counts as one heard here")
    func remoteInstances() {
        let log = run([
            .record(.beat, instance: 1, at: 0), .remote(instance: 2, at: 0), .remote(instance: 3, at: 1), .sweep(at: 2),
            .record(.beat, instance: 1, at: 10), .remote(instance: 2, at: 10), .remote(instance: 3, at: 11), .sweep(at: 19),
        ])
        #expect(log == ["new->up@0s:heartbeat"])
    }

    @Test("all instances silent: late and down as for any application (short does not hide them)")
    func allSilent() {
        let log = run(Self.beats(from: 0, to: 0) + [.sweep(at: 12), .sweep(at: 20)])
        #expect(log == ["new->up@0s:heartbeat", "up->late@12s:missed_interval", "late->down@17s:missed_grace"])
    }

    @Test("min_instances raised while up: short once the instances had their interval + grace; lowered to 1 while short: up at the next sweep")
    func minimumChanges() {
        let log = run([
            .record(.beat, instance: 1, at: 0), .sweep(at: 1), .minimum(1), .sweep(at: 2), .record(.beat, instance: 1, at: 3), .minimum(2), .sweep(at: 4),
            .record(.beat, instance: 1, at: 12), .sweep(at: 17), .sweep(at: 18), .minimum(1), .sweep(at: 19),
        ])
        #expect(log == ["new->up@0s:heartbeat", "up->short@18s:instances_missing", "short->up@19s:instances_returned"])
    }

    @Test("min_instances 1: instances are not tracked and nothing is ever short")
    func noQuorum() {
        let log = run([.record(.beat, instance: 1, at: 0), .record(.stop, instance: 1, at: 1), .record(.beat, instance: 2, at: 2)], minInstances: 1)
        #expect(log == ["new->up@0s:heartbeat", "up->paused@1s:stopped", "paused->up@2s:heartbeat"])
    }

    @Test("QuorumTable: applications gain and lose quorums; removing one moves the last into its place and keeps every other reachable")
    func quorumTable() {
        var table = QuorumTable()
        for id in [5, 2, 9] { table.insertIfAbsent(InstanceQuorum(minimum: id), for: id) }
        table.insertIfAbsent(InstanceQuorum(minimum: 99), for: 5)
        #expect(table[5]?.minimum == 5, "an existing quorum is kept")
        table.remove(5)
        #expect(!table.contains(5) && table[5] == nil)
        #expect(table[2]?.minimum == 2 && table[9]?.minimum == 9)
        table.update(9) { $0.setMinimum(7) }
        #expect(table[9]?.minimum == 7)
        var seen = [Int]()
        table.forEach(below: 9) { id, _ in seen.append(id) }
        #expect(seen == [2], "only ids below the limit")
        table.remove(2)
        table.remove(9)
        #expect(table.isEmpty && table.update(9, { _ in true }) == nil)
    }

    @Test("InstanceQuorum: at most its capacity of instances; a stop naming an unknown instance excuses nothing")
    func quorumBounds() {
        var quorum = InstanceQuorum(minimum: 3)
        for instance in 0..<UInt32(InstanceQuorum.capacity + 10) { quorum.heard(instance, atMicros: 0, expiresAtMicros: 100) }
        #expect(quorum.instances.count == InstanceQuorum.capacity)
        var small = InstanceQuorum(minimum: 3)
        small.heard(1, atMicros: 0, expiresAtMicros: 100)
        let othersAfterUnknownStop = small.stopped(99, atMicros: 1)
        #expect(othersAfterUnknownStop)
        #expect(small.needed == 3)
        let othersAfterLastStop = small.stopped(1, atMicros: 1)
        #expect(!othersAfterLastStop)
        #expect(small.needed == 2)
    }
}
