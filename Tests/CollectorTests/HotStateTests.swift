@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several collectors acting as one through Redis: the global last-seen view, the leader lease,
/// degraded mode when Redis goes away, and transitions published on the channel.
@Suite("Redis hot state (integration)", .serialized)
struct HotStateTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    /// Redis settings for a test: its own key prefix on the shared test Redis.
    static func useRedis(_ configuration: inout CollectorConfiguration, url: String, prefix: String, id: String) {
        configuration.redisURL = url
        configuration.redisKeyPrefix = prefix
        configuration.collectorID = id
        configuration.redisSyncMillis = 100
        configuration.monitorPeriodMillis = 200
    }

    static func waitFor(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Double? {
        let started = Date()
        while Date().timeIntervalSince(started) < timeout {
            if try condition() { return Date().timeIntervalSince(started) }
            usleep(20_000)
        }
        return nil
    }

    func changes(_ harness: Harness, _ index: Int) throws -> [String] {
        try harness.connection.query(
            "SELECT from_status || '->' || to_status FROM status_change WHERE application_id = \(harness.applications[index].id) ORDER BY id"
        ).compactMap { $0[0] }
    }

    func status(_ harness: Harness, _ index: Int) throws -> String? {
        try harness.connection.query("SELECT status FROM application WHERE id = \(harness.applications[index].id)").first?.first ?? nil
    }

    @Test("records that reach only the follower keep the application up at the leader; silence is recorded once, and published")
    func globalView() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "test-\(UUID().uuidString)"
        let first = try Harness { Self.useRedis(&$0, url: redisURL, prefix: prefix, id: "first") }
        defer { first.pipeline.shutdown() }
        try first.connection.query("UPDATE application SET interval_ms = 600, grace_ms = 600")
        #expect(Self.waitFor(5) { first.pipeline.hotStateMetrics.isLeader.load(ordering: .relaxed) } != nil, "the first collector leads")
        let second = try SecondCollector(beside: first)
        defer { second.stop() }

        // Listen on the channel before anything happens.
        let subscriber = try RedisConnection(url: redisURL)
        _ = try subscriber.command(["SUBSCRIBE", "\(prefix):transitions"])
        usleep(700_000)  // the registry and both monitors pick the policy up

        // Application 1 beats for 2.4 s (4 intervals), only ever to the second collector.
        for sequence in 1...24 {
            second.sender.send(first.record(1, sequence: UInt64(sequence)))
            usleep(100_000)
        }
        #expect(try status(first, 1) == "up")
        #expect(try changes(first, 1) == ["new->up"], "no false late while it beat at the other collector")
        let secondLeads = second.pipeline.hotStateMetrics.isLeader.load(ordering: .relaxed)
        let forwarded = first.pipeline.hotStateMetrics.remoteArrivalsForwarded.load(ordering: .relaxed)
        #expect(!secondLeads)
        #expect(forwarded > 0, "arrivals at the second collector reached the leader's monitor")

        // Silent: late, then down, each recorded once, by the leader.
        #expect(try Self.waitFor(4) { try status(first, 1) == "down" } != nil)
        usleep(400_000)
        #expect(try changes(first, 1) == ["new->up", "up->late", "late->down"])
        let recordedByFirst = first.pipeline.monitorMetrics.transitionsRecorded.load(ordering: .relaxed)
        let recordedBySecond = second.pipeline.monitorMetrics.transitionsRecorded.load(ordering: .relaxed)
        #expect(recordedByFirst == 3)
        #expect(recordedBySecond == 0, "a follower records nothing")

        // The three transitions were published, as JSON naming the application.
        var messages = [String]()
        for _ in 0..<3 {
            guard case .array(let parts) = try subscriber.readReply(), parts.count == 3, let payload = parts[2].text else { break }
            messages.append(payload)
        }
        let decoded = messages.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(decoded.map { "\($0["from"] ?? "")->\($0["to"] ?? "")" } == ["new->up", "up->late", "late->down"])
        #expect(decoded.allSatisfy { ($0["app"] as? String) == "\(first.applications[1].uuid)" && ($0["name"] as? String) == "app 1" })
        #expect(decoded.map { $0["reason"] as? String } == ["heartbeat", "missed_interval", "missed_grace"])
    }

    @Test("an application beating just in time at the follower is never judged late by the leader (sync lag is not silence)")
    func justInTime() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "test-\(UUID().uuidString)"
        let first = try Harness { Self.useRedis(&$0, url: redisURL, prefix: prefix, id: "first") }
        defer { first.pipeline.shutdown() }
        try first.connection.query("UPDATE application SET interval_ms = 2000, grace_ms = 1000")
        #expect(Self.waitFor(5) { first.pipeline.hotStateMetrics.isLeader.load(ordering: .relaxed) } != nil)
        // The other collector reports a beat up to ~800 ms after it arrived.
        let second = try SecondCollector(beside: first) { $0.redisSyncMillis = 400 }
        defer { second.stop() }
        usleep(900_000)
        // Every 1.5 s against an interval of 2 s: 500 ms to spare, less than the sync lag. The spare
        // is wide because a loaded CI machine oversleeps; the widest real gap is in the message.
        var sentAt = [Date]()
        for sequence in 1...6 {
            second.sender.send(first.record(1, sequence: UInt64(sequence)))
            sentAt.append(Date())
            usleep(1_500_000)
        }
        let widestGap = zip(sentAt.dropFirst(), sentAt).map { $0.timeIntervalSince($1) }.max() ?? 0
        #expect(try changes(first, 1) == ["new->up"], "no late while every beat came in time (widest gap between sends \(widestGap) s)")
    }

    @Test("an entry in a newer hot-state format is refused and counted; one from before the version field is read")
    func formatVersions() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "test-\(UUID().uuidString)"
        let harness = try Harness { Self.useRedis(&$0, url: redisURL, prefix: prefix, id: "reader") }
        defer { harness.pipeline.shutdown() }
        let metrics = harness.pipeline.hotStateMetrics
        #expect(Self.waitFor(5) { metrics.syncRounds.load(ordering: .relaxed) > 1 } != nil)
        let writer = try RedisConnection(url: redisURL)
        let id = Int32(harness.applications[1].id)
        func entry(origin: String, version: String?, micros: Int64) throws {
            var fields: [[UInt8]] = [Array("XADD".utf8), Array("\(prefix):updates".utf8), Array("*".utf8), Array("origin".utf8), Array(origin.utf8)]
            if let version { fields += [Array("v".utf8), Array(version.utf8)] }
            fields += [Array("events".utf8), [], Array("seen".utf8), UpdateEncoding.pack(seen: [(id: id, micros: micros)][...])]
            try writer.append(bytes: fields)
            try writer.flush()
            _ = try writer.readReply()
        }
        let forwardedBefore = metrics.remoteArrivalsForwarded.load(ordering: .relaxed)
        try entry(origin: "future", version: "3", micros: WallClock.nowMicros())
        #expect(Self.waitFor(3) { metrics.entriesRefused.load(ordering: .relaxed) == 1 } != nil, "the version-3 entry is refused")
        usleep(300_000)
        #expect(metrics.remoteArrivalsForwarded.load(ordering: .relaxed) == forwardedBefore, "and nothing of it reaches the monitor")
        try entry(origin: "past", version: nil, micros: WallClock.nowMicros())
        #expect(Self.waitFor(3) { metrics.remoteArrivalsForwarded.load(ordering: .relaxed) > forwardedBefore } != nil, "an entry without v is read")
        #expect(metrics.entriesRefused.load(ordering: .relaxed) == 1)
        #expect(harness.pipeline.snapshot().hotState.entriesRefused == 1)
    }

    @Test("a fail sent to the follower takes the application down at the leader at once")
    func remoteFail() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "test-\(UUID().uuidString)"
        let first = try Harness { Self.useRedis(&$0, url: redisURL, prefix: prefix, id: "first") }
        defer { first.pipeline.shutdown() }
        try first.connection.query("UPDATE application SET interval_ms = 5000, grace_ms = 5000")
        #expect(Self.waitFor(5) { first.pipeline.hotStateMetrics.isLeader.load(ordering: .relaxed) } != nil)
        let second = try SecondCollector(beside: first)
        defer { second.stop() }
        usleep(500_000)
        second.sender.send(first.record(1, sequence: 1))
        #expect(try Self.waitFor(3) { try status(first, 1) == "up" } != nil)
        second.sender.send(first.record(1, sequence: 2, kind: .fail, status: 2))
        let after = try Self.waitFor(3) { try status(first, 1) == "down" }
        #expect(after != nil && after! < 1.0, "down within a second of the fail (took \(after ?? -1) s)")
        second.sender.send(first.record(1, sequence: 3, kind: .stop))
        #expect(try Self.waitFor(3) { try status(first, 1) == "paused" } != nil)
        let recorded = try changes(first, 1)
        #expect(recorded == ["new->up", "up->down", "down->paused"])
    }

    @Test("Redis stopped: ingest goes on, no false transition for an application still beating; Redis back: resync and lead again")
    func redisStopped() throws {
        let redis = try PrivateRedis()
        let harness = try Harness { Self.useRedis(&$0, url: redis.url, prefix: "heartbeat", id: "only") }
        defer { harness.pipeline.shutdown() }
        try harness.connection.query("UPDATE application SET interval_ms = 600, grace_ms = 600")
        let metrics = harness.pipeline.hotStateMetrics
        #expect(Self.waitFor(5) { metrics.isLeader.load(ordering: .relaxed) } != nil)
        usleep(500_000)
        var sequence: UInt64 = 0
        func beat(for seconds: Double) {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                sequence += 1
                harness.sender.send(harness.record(1, sequence: sequence))
                usleep(100_000)
            }
        }
        beat(for: 1)
        redis.stop()
        beat(for: 4)  // twice the lease: the monitor must have gone to local state meanwhile
        let degraded = metrics.degraded.load(ordering: .relaxed)
        let reachable = metrics.redisReachable.load(ordering: .relaxed)
        let leads = metrics.isLeader.load(ordering: .relaxed)
        #expect(degraded, "degraded while Redis is gone")
        #expect(!reachable)
        #expect(!leads)
        #expect(try status(harness, 1) == "up")
        let statistics = harness.settled(expectingReceived: sequence)
        #expect(statistics.rowsStored == sequence, "every record stored while Redis was away")

        try redis.start()
        beat(for: 1.5)
        #expect(Self.waitFor(5) { metrics.isLeader.load(ordering: .relaxed) && !metrics.degraded.load(ordering: .relaxed) } != nil)
        let resynced = try RedisConnection(url: redis.url).command(["ZSCORE", "heartbeat:last_seen", "\(harness.applications[1].id)"])
        #expect(resynced.text != nil, "the last-seen time is back in Redis after the restart")
        // Silent now: the monitor still records the silence.
        #expect(try Self.waitFor(4) { try status(harness, 1) == "down" } != nil)
        #expect(try changes(harness, 1) == ["new->up", "up->late", "late->down"])
    }

    @Test("Redis stopped with two collectors: the one that hears an application judges it; the other never marks it late")
    func degradedTwoCollectors() throws {
        let redis = try PrivateRedis()
        let first = try Harness { Self.useRedis(&$0, url: redis.url, prefix: "heartbeat", id: "first") }
        defer { first.pipeline.shutdown() }
        try first.connection.query("UPDATE application SET interval_ms = 600, grace_ms = 600")
        #expect(Self.waitFor(5) { first.pipeline.hotStateMetrics.isLeader.load(ordering: .relaxed) } != nil)
        let second = try SecondCollector(beside: first)
        defer { second.stop() }
        usleep(600_000)
        var sequence: UInt64 = 0
        func beat(for seconds: Double) {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                sequence += 1
                second.sender.send(first.record(1, sequence: sequence))  // only ever to the second collector
                usleep(100_000)
            }
        }
        beat(for: 1)
        redis.stop()
        beat(for: 4)
        let bothDegraded = first.pipeline.hotStateMetrics.degraded.load(ordering: .relaxed) && second.pipeline.hotStateMetrics.degraded.load(ordering: .relaxed)
        #expect(bothDegraded)
        #expect(try changes(first, 1) == ["new->up"], "the first collector, which never heard it, did not convict it")
        // Silent: the second collector, which heard it last, records the silence, once.
        #expect(try Self.waitFor(4) { try status(first, 1) == "down" } != nil)
        usleep(400_000)
        #expect(try changes(first, 1) == ["new->up", "up->late", "late->down"])
        let recordedBySecond = second.pipeline.monitorMetrics.transitionsRecorded.load(ordering: .relaxed)
        #expect(recordedBySecond == 2, "late and down, by the collector that heard it")
    }

    @Test("the leader killed as the application falls silent: another takes the lease within 3 s and records the missed deadlines once")
    func leaderTakeover() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "test-\(UUID().uuidString)"
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("INSERT INTO application (uuid, name, interval_ms, grace_ms) VALUES ('\(ApplicationUUID.random())', 'takeover', 800, 800)")
        let uuid = try #require(try connection.query("SELECT uuid FROM application")[0][0])
        let spool = NSTemporaryDirectory() + "heartbeat-takeover-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool + "-a"); try? FileManager.default.removeItem(atPath: spool + "-b") }
        func serve(_ id: String) throws -> (Process, UInt16) {
            let port = UDPReceiver().port
            let process = Process()
            process.executableURL = heartbeatExecutable()
            process.arguments = [
                "serve", "--udp", "127.0.0.1:\(port)", "--http", "127.0.0.1:0", "--database-url", database.url, "--redis-url", redisURL, "--redis-prefix", prefix,
                "--collector-id", id, "--spool-dir", spool + "-" + id, "--status-interval-s", "0", "--check-period-ms", "200", "--redis-sync-ms", "100",
            ]
            process.standardError = FileHandle.nullDevice
            try process.run()
            return (process, port)
        }
        let leaderKey = "\(prefix):monitor_leader"
        let redis = try RedisConnection(url: redisURL)
        let (a, portA) = try serve("a")
        defer { if a.isRunning { kill(a.processIdentifier, SIGKILL) } }
        #expect(try Self.waitFor(10) { try redis.command(["GET", leaderKey]).text == "a" } != nil)
        let (b, portB) = try serve("b")
        defer { if b.isRunning { kill(b.processIdentifier, SIGTERM); b.waitUntilExit() } }
        // The application beats to both collectors.
        let senderA = UDPSender(port: portA), senderB = UDPSender(port: portB)
        var record = HeartbeatRecord(kind: .beat, application: ApplicationUUID(uuid)!, instance: 1, sequence: 0, sentAtMicros: 0, intervalMillis: 800, status: 0)
        func beat(_ senders: [UDPSender]) {
            record.sequence += 1
            record.sentAtMicros = Int64(Date().timeIntervalSince1970 * 1_000_000)
            var bytes = [UInt8](repeating: 0, count: 64)
            bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
            senders.forEach { $0.send(bytes) }
        }
        for _ in 0..<20 {
            beat([senderA, senderB])
            usleep(100_000)
        }
        #expect(try connection.query("SELECT status FROM application")[0][0] == "up")
        // The leader dies and the application falls silent at the same moment: its deadlines pass
        // while nobody holds the lease, so b must record what it computed as a follower.
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        let killed = Date()
        var tookOver: Double?
        while Date().timeIntervalSince(killed) < 5, tookOver == nil {
            if try redis.command(["GET", leaderKey]).text == "b" { tookOver = Date().timeIntervalSince(killed) }
            usleep(20_000)
        }
        let seconds = try #require(tookOver, "b never took the lease")
        #expect(seconds <= 3.0, "take-over in \(seconds) s")
        #expect(try Self.waitFor(5) { try connection.query("SELECT status FROM application")[0][0] == "down" } != nil)
        usleep(300_000)
        let rows = try connection.query("SELECT from_status || '->' || to_status FROM status_change ORDER BY id").compactMap { $0[0] }
        #expect(rows == ["new->up", "up->late", "late->down"])
        // Recorded at its deadline (last record + 0.8 s), not an interval after the take-over.
        let lateAt = try #require(try connection.query("SELECT extract(epoch FROM at) FROM status_change WHERE to_status = 'late'")[0][0].flatMap(Double.init))
        let afterKill = lateAt - killed.timeIntervalSince1970
        #expect(afterKill < 1.0, "late at \(afterKill) s after the kill")
    }

    @Test("a stream entry naming application ids beyond the registry is ignored and counted, not allocated for")
    func hostileRedisValues() throws {
        let redisURL = try serviceURL("HEARTBEAT_REDIS_URL")
        let prefix = "hostile-\(UUID().uuidString)"
        let harness = try Harness { Self.useRedis(&$0, url: redisURL, prefix: prefix, id: "honest") }
        defer { harness.pipeline.shutdown() }
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        // The wire layout of Spec/hot-state.md, written by hand: seen = (id i32, µs i64), events = (id i32, kind u8, µs i64, interval u32)
        // (version 1, no `v`), instances = (id i32, instance u32, µs i64).
        func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let seen = littleEndian(Int32.max) + littleEndian(now) + littleEndian(Int32(-5)) + littleEndian(now)
        let events = littleEndian(Int32.max - 1) + [3] + littleEndian(now) + littleEndian(UInt32(1_000))
        let instances = littleEndian(Int32.max) + littleEndian(UInt32(7)) + littleEndian(now)
        let writer = try RedisConnection(url: redisURL)
        try writer.append(bytes: [
            Array("XADD".utf8), Array("\(prefix):updates".utf8), Array("*".utf8), Array("origin".utf8), Array("mallory".utf8),
            Array("events".utf8), events, Array("seen".utf8), seen, Array("upto".utf8), Array(String(now).utf8),
            Array("instances".utf8), instances,
        ])
        _ = try writer.readReply()
        let ignored = Self.waitFor(5) { harness.pipeline.hotStateMetrics.remoteValuesIgnored.load(ordering: .relaxed) >= 4 }
        let count = harness.pipeline.hotStateMetrics.remoteValuesIgnored.load(ordering: .relaxed)
        #expect(ignored != nil, "ignored: \(count)")
        let reachable = harness.pipeline.hotStateMetrics.redisReachable.load(ordering: .relaxed)
        #expect(reachable, "the sync goes on")
        _ = try writer.command(["DEL", "\(prefix):updates", "\(prefix):last_seen"])
    }
}

/// A second collector beside a harness's: the same database and Redis settings, its own UDP port,
/// spool and collector id.
final class SecondCollector {
    let pipeline: HeartbeatCollector
    let sender: UDPSender
    private let spoolDirectory: String

    init(beside first: HeartbeatCollectorTests.Harness, configure: (inout CollectorConfiguration) -> Void = { _ in }) throws {
        var configuration = first.pipeline.configuration
        configuration.collectorID = "second"
        configuration.spoolDirectory += "-second"
        configure(&configuration)
        spoolDirectory = configuration.spoolDirectory
        pipeline = try HeartbeatCollector(configuration: configuration)
        try pipeline.start()
        sender = UDPSender(port: pipeline.udpPort)
    }

    func stop() {
        pipeline.shutdown()
        try? FileManager.default.removeItem(atPath: spoolDirectory)
    }
}
