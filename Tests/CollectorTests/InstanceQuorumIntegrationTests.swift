@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// Instance quorum end to end: real collectors, PostgreSQL, Redis and a webhook receiver; senders
/// are instances beating every 200 ms against an interval of 600 ms and a grace of 300 ms.
@Suite("Instance quorum (integration)", .serialized)
struct InstanceQuorumIntegrationTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    /// Instances beating for application `index`, each with its own sequence.
    final class Instances {
        var sequences = [UInt32: UInt64]()
        /// When each instance last sent.
        var lastSent = [UInt32: Date]()
        let index: Int
        init(index: Int) { self.index = index }

        /// Sends one record of `kind` from `instance` through `send`.
        func send(_ instance: UInt32, _ kind: RecordKind = .beat, harness: Harness, through send: ([UInt8]) -> Void) {
            let sequence = (sequences[instance] ?? 0) + 1
            sequences[instance] = sequence
            send(harness.record(index, sequence: sequence, kind: kind, instance: instance))
            lastSent[instance] = Date()
        }

        /// Beats every 200 ms for `seconds` from each instance, each through its own sender.
        func beat(_ instances: [UInt32: ([UInt8]) -> Void], for seconds: Double, harness: Harness) {
            let until = Date().addingTimeInterval(seconds)
            while Date() < until {
                for (instance, send) in instances.sorted(by: { $0.key < $1.key }) { self.send(instance, harness: harness, through: send) }
                usleep(200_000)
            }
        }
    }

    static func changes(_ harness: Harness, _ index: Int) throws -> [String] {
        try harness.connection.query(
            "SELECT from_status || '->' || to_status || ':' || reason FROM status_change WHERE application_id = \(harness.applications[index].id) ORDER BY id"
        ).compactMap { $0[0] }
    }

    static func quorumApplication(_ harness: Harness, _ index: Int, minInstances: Int = 3) throws {
        _ = try ApplicationStore.update(
            harness.applications[index].uuid, .init(intervalMillis: 600, graceMillis: 300, minInstances: minInstances), on: harness.connection)
        usleep(1_200_000)  // the registry reaches the monitor, and its start-up watch is over
    }

    @Test("min_instances 3, three senders: one killed → short within interval + grace, up when it returns; a rolling restart → no pause, no alert; paused only when all stop")
    func killReturnAndRollingRestart() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try NoiseControlTests.harness(receiver)
        defer { harness.pipeline.shutdown() }
        try Self.quorumApplication(harness, 1)
        let app = Instances(index: 1)
        let send = { (bytes: [UInt8]) in harness.sender.send(bytes) }
        app.beat([11: send, 12: send, 13: send], for: 1.0, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "up")

        // Instance 13 dies: short once its last record is interval + grace old.
        app.beat([11: send, 12: send], for: 1.6, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "short")
        let shortAt = try #require(try harness.connection.query(
            "SELECT extract(epoch FROM at) FROM status_change WHERE to_status = 'short' AND application_id = \(harness.applications[1].id)"
        ).first?[0].flatMap(Double.init))
        let afterLastRecord = shortAt - app.lastSent[13]!.timeIntervalSince1970
        #expect(afterLastRecord >= 0.85 && afterLastRecord <= 1.0, "short \(afterLastRecord) s after instance 13's last record (interval + grace: 0.9 s)")
        let live = try #require(harness.pipeline.liveStatus().application(harness.applications[1].uuid))
        #expect(live.status == .short && live.instances == LivenessView.InstanceCount(counted: 2, needed: 3), "readers see 2 of 3 instances")

        // It returns: up at its first record.
        app.beat([11: send, 12: send, 13: send], for: 0.6, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "up")

        // A rolling restart: each instance stops, its successor starts under a new instance id.
        var running: [UInt32: ([UInt8]) -> Void] = [11: send, 12: send, 13: send]
        for (old, new) in [(UInt32(11), UInt32(21)), (12, 22), (13, 23)] {
            app.send(old, .stop, harness: harness, through: send)
            running[old] = nil
            app.beat(running, for: 0.4, harness: harness)
            running[new] = send
            app.beat(running, for: 0.6, harness: harness)
        }
        app.beat(running, for: 1.2, harness: harness)
        let expected = ["new->up:heartbeat", "up->short:instances_missing", "short->up:instances_returned"]
        #expect(try Self.changes(harness, 1) == expected, "a rolling restart changes nothing")

        // Every instance stops: paused at the last stop, not before.
        for instance in [UInt32(21), 22] { app.send(instance, .stop, harness: harness, through: send) }
        usleep(300_000)
        #expect(try NoiseControlTests.status(harness, 1) == "up", "one instance still counts, and two places are excused")
        app.send(23, .stop, harness: harness, through: send)
        #expect(try NoiseControlTests.waitUntil(3) { try NoiseControlTests.status(harness, 1) == "paused" })
        #expect(try Self.changes(harness, 1) == expected + ["up->paused:stopped"])

        #expect(try NoiseControlTests.waitUntil(5) { NoiseControlTests.bodies(receiver).count >= 4 })
        usleep(300_000)
        let notified = NoiseControlTests.bodies(receiver).map { "\($0["from"] ?? "")->\($0["to"] ?? "")" }
        #expect(notified == ["new->up", "up->short", "short->up", "up->paused"], "one notification per transition, none for the rolling restart")
    }

    @Test("a collector restarted while a quorum application is up: it knows no instance at first, records nothing while they report, and one lost is short")
    func restartKnowsNoInstances() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 100 }
        defer { harness.pipeline.shutdown() }
        try Self.quorumApplication(harness, 1)
        let app = Instances(index: 1)
        let toFirst = { (bytes: [UInt8]) in harness.sender.send(bytes) }
        app.beat([11: toFirst, 12: toFirst, 13: toFirst], for: 1.2, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "up")
        harness.pipeline.shutdown()

        var configuration = harness.pipeline.configuration
        configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.spoolDirectory += "-restarted"
        defer { try? FileManager.default.removeItem(atPath: configuration.spoolDirectory) }
        let restarted = try HeartbeatCollector(configuration: configuration)
        try restarted.start()
        defer { restarted.shutdown() }
        let sender = UDPSender(port: restarted.udpPort)
        let toRestarted = { (bytes: [UInt8]) in sender.send(bytes) }
        // Its monitor sweeps from 0.1 s after the start; the instances report again after 0.4 s
        // (the board-level table `InstanceQuorumTests.watchingTime` pins the watching time itself).
        usleep(400_000)
        let afterStart = try #require(restarted.liveStatus().application(harness.applications[1].uuid))
        #expect(afterStart.status == .up && afterStart.instances == LivenessView.InstanceCount(counted: 0, needed: 3),
                "up as stored, knowing no instance yet")
        // Three intervals + graces: any misjudged instance would have made it short by now.
        app.beat([11: toRestarted, 12: toRestarted, 13: toRestarted], for: 2.7, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "up")
        #expect(try Self.changes(harness, 1) == ["new->up:heartbeat"])
        // And it still judges: one instance gone is short.
        app.beat([11: toRestarted, 12: toRestarted], for: 1.5, harness: harness)
        #expect(try Self.changes(harness, 1) == ["new->up:heartbeat", "up->short:instances_missing"])
    }

    @Test("two collectors through Redis: instances heard at either count at the leader; one killed → short once")
    func instancesAcrossCollectors() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "quorum-\(UUID().uuidString)"
        let harness = try Harness { HotStateTests.useRedis(&$0, url: redisURL, prefix: prefix, id: "first") }
        defer { harness.pipeline.shutdown() }
        let second = try SecondCollector(beside: harness)
        defer { second.stop() }
        try Self.quorumApplication(harness, 1)
        let app = Instances(index: 1)
        let toFirst = { (bytes: [UInt8]) in harness.sender.send(bytes) }
        let toSecond = { (bytes: [UInt8]) in second.sender.send(bytes) }
        // Instances 11 and 12 report to the first collector, 13 to the second.
        app.beat([11: toFirst, 12: toFirst, 13: toSecond], for: 3.0, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "up")
        #expect(try Self.changes(harness, 1) == ["new->up:heartbeat"], "never short while each collector hears part of the instances")

        app.beat([11: toFirst, 12: toFirst], for: 2.0, harness: harness)
        #expect(try NoiseControlTests.status(harness, 1) == "short")
        #expect(try Self.changes(harness, 1) == ["new->up:heartbeat", "up->short:instances_missing"])
        let shared = harness.pipeline.hotStateMetrics.instancesShared.load(ordering: .relaxed)
            + second.pipeline.hotStateMetrics.instancesShared.load(ordering: .relaxed)
        #expect(shared > 0)
    }
}
