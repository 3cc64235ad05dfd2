import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// Rollups with a real collector and PostgreSQL: counts equal to what was accepted, loss as the
/// sender made it, two collectors merged, and the raw-event modes.
@Suite("Rollups and loss, end to end", .serialized)
struct RollupIntegrationTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    /// Rollup records per application id, summed over every row (every collector, minute, instance).
    static func rollupRecords(_ connection: PostgresConnection) throws -> [String: Int] {
        var counts = [String: Int]()
        for row in try connection.query(
            "SELECT application_id, sum(beats + starts + successes + fails + stops) FROM heartbeat_rollup_minute GROUP BY application_id")
        {
            counts[row[0]!] = Int(row[1]!)!
        }
        return counts
    }

    static func wholeWindow() -> (from: Int64, to: Int64) {
        let minute = Harness.now() / 60_000_000
        return (minute - 5, minute + 2)
    }

    @Test("rollup counts equal the accepted records per application; loss under reordering, duplicates, gaps and a new instance")
    func countsAndLoss() throws {
        let harness = try Harness()
        // Application 0, instance 7: 1…200 without 20…29, reordered within blocks of 32 (the
        // anti-replay window is 64 wide), and 10 duplicates (refused as replays).
        let ordered = Array(1...200).filter { !(20...29).contains($0) }.map { UInt64($0) }
        let first = stride(from: 0, to: ordered.count, by: 32).flatMap { ordered[$0..<min(ordered.count, $0 + 32)].shuffled() }
        let duplicates = first.suffix(10)
        // A new instance 8 of the same application, from 500, with 5 numbers missing.
        let second = (500..<560).filter { ![510, 520, 530, 540, 550].contains($0) }.map { UInt64($0) }
        var sent: UInt64 = 0
        for chunk in stride(from: 0, to: first.count, by: 16) {
            harness.sender.send(first[chunk..<min(first.count, chunk + 16)].flatMap { harness.record(0, sequence: $0) })
            sent += UInt64(min(16, first.count - chunk))
            usleep(2_000)
        }
        for sequence in duplicates {
            harness.sender.send(harness.record(0, sequence: sequence))
            sent += 1
        }
        for sequence in second {
            harness.sender.send(harness.record(0, sequence: sequence, instance: 8))
            sent += 1
        }
        // Application 1 (unsigned): every kind.
        let kinds: [RecordKind] = [.start, .beat, .beat, .success, .start, .fail, .stop]
        for (index, kind) in kinds.enumerated() {
            harness.sender.send(harness.record(1, sequence: UInt64(index + 1), kind: kind))
            sent += 1
        }
        let statistics = harness.settled(expectingReceived: sent)
        harness.pipeline.shutdown()
        #expect(statistics.recordsAccepted == UInt64(first.count + second.count + kinds.count))
        #expect(statistics.rejected[.replay] == 10)

        let snapshot = harness.pipeline.snapshot()
        #expect(snapshot.rollups.recordsCounted == statistics.recordsAccepted && snapshot.rollups.recordsUncounted == 0)
        #expect(snapshot.rollups.recordsWritten == statistics.recordsAccepted && snapshot.rollups.recordsLost == 0)
        let stored = try harness.connection.query("SELECT application_id, count(*) FROM heartbeat_event GROUP BY application_id")
        let rollups = try Self.rollupRecords(harness.connection)
        #expect(rollups == Dictionary(uniqueKeysWithValues: stored.map { ($0[0]!, Int($0[1]!)!) }), "per application, as stored")
        #expect(rollups[String(harness.applications[0].id)] == first.count + second.count)

        let window = Self.wholeWindow()
        let app0 = try RollupStore.loss(applicationID: Int(harness.applications[0].id), fromMinute: window.from, toMinute: window.to, on: harness.connection)
        #expect(app0.loss.lost == 15 && app0.loss.expected == 200 + 60 && app0.instances == 2, "\(app0)")
        let app1 = try RollupStore.loss(applicationID: Int(harness.applications[1].id), fromMinute: window.from, toMinute: window.to, on: harness.connection)
        #expect(app1.loss.lost == 0)
        #expect((app1.counts.starts, app1.counts.beats, app1.counts.successes, app1.counts.fails, app1.counts.stops) == (2, 2, 1, 1, 1))
        // The highest number before a window is its baseline: a window after these records sees none of them.
        let later = try RollupStore.loss(
            applicationID: Int(harness.applications[0].id), fromMinute: window.to, toMinute: window.to + 10, on: harness.connection)
        #expect(later.loss == .none && later.counts.records == 0)
        #expect(try ApplicationStore.recordsLostLastHour(applicationID: Int(harness.applications[0].id), on: harness.connection) == 15)
    }

    @Test("two collectors sharing one instance's datagrams through SO_REUSEPORT: merged counts and loss are the sender's")
    func twoCollectors() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let uuid = ApplicationUUID.random()
        let id = try connection.query("INSERT INTO application (uuid, name) VALUES ('\(uuid)', 'shared') RETURNING id")[0][0]!
        let spools = (0..<2).map { _ in NSTemporaryDirectory() + "heartbeat-rollup-\(UUID().uuidString)" }
        defer { for spool in spools { try? FileManager.default.removeItem(atPath: spool) } }
        func configuration(port: UInt16, spool: String) throws -> CollectorConfiguration {
            var configuration = CollectorConfiguration()
            configuration.udp = try ListenAddress(parsing: "127.0.0.1:\(port)")
            configuration.databaseURL = database.url
            configuration.receivers = 1
            configuration.ringCapacity = 65_536
            configuration.batchAgeMillis = 20
            configuration.spoolDirectory = spool
            configuration.shareUDPPort = true
            configuration.rollupFlushSeconds = 1
            configuration.rawEvents = .none
            return configuration
        }
        let one = try HeartbeatCollector(configuration: try configuration(port: 0, spool: spools[0]))
        try one.start()
        let two = try HeartbeatCollector(configuration: try configuration(port: one.udpPort, spool: spools[1]))
        try two.start()
        // 32 sockets (source ports) send one instance's numbers in turn: the kernel spreads them over both collectors.
        let senders = (0..<32).map { _ in UDPSender(port: one.udpPort) }
        let dropped = Set(stride(from: 7, through: 3_000, by: 83).map { UInt64($0) })
        var sent = 0
        for sequence in UInt64(1)...3_000 where !dropped.contains(sequence) {
            var record = HeartbeatRecord(
                kind: .beat, application: uuid, instance: 42, sequence: sequence, sentAtMicros: Harness.now(), intervalMillis: 1_000, status: 0)
            var bytes = [UInt8](repeating: 0, count: 64)
            bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
            senders[Int(sequence) % senders.count].send(bytes)
            sent += 1
            if sequence.isMultiple(of: 200) { usleep(2_000) }
        }
        let deadline = Date().addingTimeInterval(10)
        while one.statistics.recordsAccepted + two.statistics.recordsAccepted < UInt64(sent), Date() < deadline { usleep(10_000) }
        two.shutdown()
        one.shutdown()
        let accepted = (one.statistics.recordsAccepted, two.statistics.recordsAccepted)
        #expect(accepted.0 > 0 && accepted.1 > 0, "the kernel split the traffic: \(accepted)")
        #expect(accepted.0 + accepted.1 == UInt64(sent))
        #expect(one.statistics.rowsNotKeptRaw == accepted.0 && one.statistics.isBalanced, "raw events none: every record only in rollups")
        #expect(try connection.query("SELECT count(*) FROM heartbeat_event")[0][0] == "0")
        #expect(try Self.rollupRecords(connection)[id] == sent)
        let window = Self.wholeWindow()
        let merged = try RollupStore.loss(applicationID: Int(id)!, fromMinute: window.from, toMinute: window.to, on: connection)
        #expect(merged.loss.lost == Int64(dropped.count) && merged.loss.expected == 3_000 && merged.instances == 1, "\(merged)")
    }

    @Test("--raw-events runs stores the run records and the first beat after a gap; none stores nothing; rollups count all in both")
    func rawEventModes() throws {
        for mode in [RawEvents.runs, .none] {
            let harness = try Harness { $0.rawEvents = mode }
            // intervalMillis 1,000 in every record: a gap is over 2 s of silence.
            var sequence: UInt64 = 0
            func send(_ kind: RecordKind) {
                sequence += 1
                harness.sender.send(harness.record(1, sequence: sequence, kind: kind))
                usleep(5_000)
            }
            send(.beat)  // the first beat this collector sees: kept
            for _ in 0..<4 { send(.beat) }  // routine
            for kind in [RecordKind.start, .success, .fail, .stop] { send(kind) }
            usleep(2_300_000)
            send(.beat)  // after a gap: kept
            send(.beat)
            let statistics = harness.settled(expectingReceived: sequence)
            harness.pipeline.shutdown()
            let kinds = try harness.connection.query("SELECT kind FROM heartbeat_event ORDER BY seq").map { $0[0]! }
            #expect(kinds == (mode == .runs ? ["0", "1", "2", "3", "4", "0"] : []), "\(mode)")
            #expect(statistics.rowsNotKeptRaw == (mode == .runs ? 5 : 11), "\(mode)")
            #expect(statistics.isBalanced, "\(statistics)")
            #expect(try Self.rollupRecords(harness.connection)[String(harness.applications[1].id)] == 11, "\(mode)")
        }
    }

    @Test("daily rollups: yesterday's minute rows of two collectors merged once per (application, instance); derived again, nothing changes; expired by age")
    func dailyRollups() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let now = Harness.now()
        try PartitionMaintainer(table: .rollupMinute, retentionDays: 30).maintain(connection, nowMicros: now)
        let today = now / 86_400_000_000
        let yesterday = today - 1
        // Two collectors' rows for the same minutes of yesterday, and one row of today (not derived).
        for (minute, beats, low, high) in [(10, 30, 1, 30), (10, 25, 31, 60), (11, 60, 61, 120), (1_439, 5, 121, 125)] as [(Int64, Int, Int, Int)] {
            try connection.execute("""
                INSERT INTO heartbeat_rollup_minute (application_id, instance, minute, beats, starts, successes, fails, stops, sequenced,
                                                     seq_min, seq_max, first_at, last_at, delay_min_us, delay_max_us)
                VALUES (7, 3, to_timestamp($1::bigint * 60), $2::integer, 1, 0, 0, 0, $2::integer, $3::bigint, $4::bigint,
                        to_timestamp($1::bigint * 60 + 1), to_timestamp($1::bigint * 60 + 50), $5::integer, 900)
                """, [String(yesterday * 1_440 + minute), String(beats), String(low), String(high), String(100 + beats)])
        }
        try connection.execute("""
            INSERT INTO heartbeat_rollup_minute (application_id, instance, minute, beats, starts, successes, fails, stops, sequenced,
                                                 first_at, last_at, delay_min_us, delay_max_us)
            VALUES (7, 3, to_timestamp($1::bigint * 60), 9, 0, 0, 0, 0, 0, now(), now(), 1, 1)
            """, [String(today * 1_440)])
        #expect(try RollupStore.deriveDay(yesterday, on: connection) == 1)
        #expect(try RollupStore.deriveDay(yesterday, on: connection) == 0, "already derived")
        let rows = try connection.query("""
            SELECT day = (now() AT TIME ZONE 'UTC')::date - 1, beats, starts, sequenced, seq_min, seq_max, delay_min_us, delay_max_us,
                   extract(epoch FROM last_at - first_at)::integer
            FROM heartbeat_rollup_day
            """)
        #expect(rows == [["t", "120", "4", "120", "1", "125", "105", "900", String((1_439 - 10) * 60 + 49)]])
        try connection.query("UPDATE heartbeat_rollup_day SET day = day - 40")
        #expect(try RollupStore.expireDays(olderThanDays: 30, on: connection) == 1)
        #expect(try connection.query("SELECT count(*) FROM heartbeat_rollup_day") == [["0"]])
    }
}
