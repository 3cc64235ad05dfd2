import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// The ingest path end to end in one process: UDP datagrams in, rows in a fresh PostgreSQL
/// database out, every record accounted for.
@Suite("Ingest pipeline", .serialized)
struct HeartbeatCollectorTests {
    /// A fresh database with `count` registered apps (the even ones signed) and a pipeline on an
    /// ephemeral UDP port with a private spool directory.
    final class Harness {
        let database: TestDatabase
        let connection: PostgresConnection
        var applications: [(uuid: ApplicationUUID, id: Int64, secret: ApplicationSecret?)] = []
        let pipeline: HeartbeatCollector
        let sender: UDPSender
        let spoolDirectory: String

        init(applications count: Int = 4, configure: (inout CollectorConfiguration) -> Void = { _ in }) throws {
            database = try TestDatabase()
            connection = try database.connect()
            try Migrator().migrate(connection)
            for index in 0..<count {
                let uuid = ApplicationUUID.random()
                let secret: ApplicationSecret? = index.isMultiple(of: 2) ? .random() : nil
                let secretSQL = secret.map { "'\\x\($0.hexString)'::bytea" } ?? "NULL"
                let id = try connection.query(
                    "INSERT INTO application (uuid, name, secret, is_active) VALUES ('\(uuid)', 'app \(index)', \(secretSQL), \(index != 3)) RETURNING id")
                applications.append((uuid, Int64(id[0][0]!)!, secret))
            }
            spoolDirectory = NSTemporaryDirectory() + "heartbeat-spool-\(UUID().uuidString)"
            var configuration = CollectorConfiguration()
            configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
            configuration.databaseURL = database.url
            configuration.receivers = 2
            configuration.ringCapacity = 65_536
            configuration.batchAgeMillis = 20
            configuration.spoolDirectory = spoolDirectory
            configuration.registryPollMillis = 100
            configuration.rollupFlushSeconds = 1
            configure(&configuration)
            pipeline = try HeartbeatCollector(configuration: configuration)
            try pipeline.start()
            sender = UDPSender(port: pipeline.udpPort)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: spoolDirectory)
        }

        /// A record of application `index`, signed when it has a secret.
        func record(_ index: Int, sequence: UInt64, kind: RecordKind = .beat, instance: UInt32 = 7, sentAt: Int64? = nil, status: Int32 = 0) -> [UInt8] {
            var record = HeartbeatRecord(
                kind: kind, application: applications[index].uuid, instance: instance, sequence: sequence,
                sentAtMicros: sentAt ?? Self.now(), intervalMillis: 1_000, status: status)
            var bytes = [UInt8](repeating: 0, count: 64)
            bytes.withUnsafeMutableBytes { record.encodeSigned(with: applications[index].secret.map(TagKey.init(secret:)), to: $0.baseAddress!) }
            return bytes
        }

        static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

        /// Waits until every received record is settled (or `timeout` passes) and returns the totals.
        func settled(expectingReceived received: UInt64, timeout: Double = 10) -> IngestStatistics {
            let deadline = Date().addingTimeInterval(timeout)
            var statistics = pipeline.statistics
            while Date() < deadline {
                statistics = pipeline.statistics
                if statistics.recordsReceived >= received, statistics.recordsInFlight == 0,
                    statistics.rowsStored + statistics.rowsSpooled + statistics.rowsDeadLettered + statistics.rowsDroppedSpoolFull
                        + statistics.rowsDroppedSpoolError + statistics.rowsDroppedStorageBusy + statistics.rowsNotKeptRaw
                        == statistics.recordsAccepted {
                    break
                }
                usleep(10_000)
            }
            return statistics
        }

        func storedRowCount() throws -> Int { Int(try connection.query("SELECT count(*) FROM heartbeat_event")[0][0]!)! }
    }

    @Test("records sent over UDP appear as rows with the right values")
    func rowsLand() throws {
        let harness = try Harness()
        let sentAt = Harness.now() - 5_000_000
        harness.sender.send(harness.record(0, sequence: 1, kind: .start, instance: 11, sentAt: sentAt, status: 4))
        harness.sender.send(harness.record(1, sequence: 9, kind: .fail, instance: 12, sentAt: sentAt, status: -2) + harness.record(1, sequence: 10, instance: 12, sentAt: sentAt))
        let statistics = harness.settled(expectingReceived: 3)
        harness.pipeline.shutdown()
        #expect(statistics.recordsAccepted == 3 && statistics.rowsStored == 3, "\(statistics)")
        let latest = harness.pipeline.lastSeen.entry(for: harness.applications[1].id)
        #expect(latest.instance == 12 && latest.sequence == 10)
        #expect(abs(latest.receivedMicros - Harness.now()) < 60_000_000)
        #expect(harness.pipeline.lastSeen.entry(for: harness.applications[2].id).receivedMicros == 0, "never heard from")
        let rows = try harness.connection.query("""
            SELECT application_id, instance, seq, kind, status, (extract(epoch FROM sent_at) * 1000000)::bigint,
                   received_at BETWEEN now() - interval '1 minute' AND now()
            FROM heartbeat_event ORDER BY seq
            """)
        let first = String(harness.applications[0].id)
        let second = String(harness.applications[1].id)
        #expect(rows == [
            [first, "11", "1", "1", "4", String(sentAt), "t"],
            [second, "12", "9", "3", "-2", String(sentAt), "t"],
            [second, "12", "10", "0", "0", String(sentAt), "t"],
        ])
    }

    @Test("every rejection reason is produced by a crafted datagram and counted; nothing goes unaccounted")
    func rejectionsCounted() throws {
        let harness = try Harness()
        var sent: UInt64 = 0
        func send(_ bytes: [UInt8], records: UInt64) {
            harness.sender.send(bytes)
            sent += records
        }
        send([UInt8](repeating: 0x48, count: 65), records: 1)                                     // malformed length
        var badMagic = harness.record(1, sequence: 1)
        badMagic[0] = 0
        send(badMagic, records: 1)                                                                 // malformed magic
        var otherVersion = harness.record(1, sequence: 2)
        otherVersion[2] = 2
        send(otherVersion, records: 1)                                                             // version
        var unknown = HeartbeatRecord(kind: .beat, application: .random(), instance: 1, sequence: 1, sentAtMicros: 0).encoded()
        send(unknown, records: 1)                                                                  // unknown_app
        unknown = []
        send(harness.record(3, sequence: 1), records: 1)                                           // disabled
        var forged = harness.record(0, sequence: 5)
        forged[63] ^= 1
        send(forged, records: 1)                                                                   // auth
        send(harness.record(2, sequence: 1, sentAt: Harness.now() - 600_000_000), records: 1)     // stale
        send(harness.record(1, sequence: 3) + harness.record(1, sequence: 3), records: 2)         // accepted + replay
        let statistics = harness.settled(expectingReceived: sent)
        harness.pipeline.shutdown()
        #expect(statistics.recordsReceived == sent)
        #expect(statistics.recordsAccepted == 1)
        for (reason, count) in [(RejectionReason.malformed, 2), (.version, 1), (.unknownApplication, 1), (.disabled, 1), (.authentication, 1), (.stale, 1), (.replay, 1)] {
            #expect(statistics.rejected[reason] == UInt64(count), "\(reason): \(statistics)")
        }
        #expect(statistics.recordsReceived == statistics.recordsAccepted + statistics.recordsRejected)
        #expect(try harness.storedRowCount() == 1)
    }

    @Test("a registry change reaches the receivers within a second")
    func registryChanges() throws {
        let harness = try Harness()
        let uuid = ApplicationUUID.random()
        harness.sender.send(HeartbeatRecord(kind: .beat, application: uuid, instance: 1, sequence: 1, sentAtMicros: Harness.now()).encoded())
        _ = harness.settled(expectingReceived: 1)
        #expect(harness.pipeline.statistics.rejected[.unknownApplication] == 1)
        try harness.connection.query("INSERT INTO application (uuid, name) VALUES ('\(uuid)', 'late arrival')")
        let registered = Date()
        var accepted = false
        var sequence: UInt64 = 2
        while Date().timeIntervalSince(registered) < 1.0, !accepted {
            usleep(50_000)
            harness.sender.send(HeartbeatRecord(kind: .beat, application: uuid, instance: 1, sequence: sequence, sentAtMicros: Harness.now()).encoded())
            sequence += 1
            usleep(20_000)
            accepted = harness.pipeline.statistics.recordsAccepted > 0
        }
        harness.pipeline.shutdown()
        #expect(accepted, "the new application's records were still refused a second after it was registered")
    }

    @Test("with auto-registration on, an unknown application is registered and its records then accepted; the budget holds")
    func autoRegistration() throws {
        let harness = try Harness { $0.autoRegister = true; $0.autoRegisterPerMinute = 3 }
        let newcomers = (0..<5).map { _ in ApplicationUUID.random() }
        var sequence: UInt64 = 1
        func sendAll() {
            for uuid in newcomers {
                harness.sender.send(HeartbeatRecord(kind: .beat, application: uuid, instance: 1, sequence: sequence, sentAtMicros: Harness.now()).encoded())
            }
            sequence += 1
        }
        sendAll()
        let deadline = Date().addingTimeInterval(5)
        while harness.pipeline.statistics.recordsAccepted < 3, Date() < deadline {
            usleep(100_000)
            sendAll()
        }
        let statistics = harness.settled(expectingReceived: 0)
        harness.pipeline.shutdown()
        #expect(statistics.rejected[.unknownApplication, default: 0] >= 5, "the first records of each are unknown")
        #expect(statistics.recordsAccepted >= 3)
        #expect(harness.pipeline.snapshot().registry.applicationsAutoRegistered == 3, "the budget is 3 a minute")
        let names = try harness.connection.query("SELECT name FROM application WHERE uuid IN (\(newcomers.map { "'\($0)'" }.joined(separator: ",")))")
        #expect(names == Array(repeating: ["auto-registered"], count: 3))
    }

    @Test("a flood of one application is refused as rate_limited past its budget; another application's records are all stored")
    func floodOfOneApplicationIsRateLimited() throws {
        let harness = try Harness { configuration in
            configuration.appRateLimit = 100
            configuration.appBurst = 200
        }
        // Application 1 floods 5,000 records at once; application 0 sends 50 interleaved with them.
        var sent: UInt64 = 0
        for sequence in 1...5_000 as ClosedRange<UInt64> {
            harness.sender.send(harness.record(1, sequence: sequence))
            sent += 1
            if sequence.isMultiple(of: 100) {
                harness.sender.send(harness.record(0, sequence: sequence / 100))
                sent += 1
            }
        }
        let statistics = harness.settled(expectingReceived: sent)
        harness.pipeline.shutdown()
        #expect(statistics.recordsReceived == sent, "\(statistics)")
        #expect(statistics.isBalanced, "\(statistics)")
        let limited = statistics.rejected[.rateLimited, default: 0]
        // The flood gets its burst plus what the rate refills while it is being sent (100/s).
        #expect(limited >= 4_000 && limited <= 5_000 - 200, "\(statistics)")
        let stored = try harness.connection.query(
            "SELECT a.name, count(*) FROM heartbeat_event e JOIN application a ON a.id = e.application_id GROUP BY a.name ORDER BY a.name")
        #expect(stored.first == ["app 0", "50"], "the other application lost records: \(stored)")
        #expect(stored.last?[1].flatMap { Int($0) } == 5_000 - Int(limited), "\(stored) \(statistics)")
    }

    /// A pipeline with 50-row batches and one writer, and another session holding
    /// `heartbeat_event` locked (its transaction open: COMMIT on the connection ends the stall), so
    /// every COPY waits — PostgreSQL reachable, just stuck.
    static func stalledStorage() throws -> (Harness, PostgresConnection) {
        let harness = try Harness { configuration in
            configuration.batchRows = 50
            configuration.writerConnections = 1
        }
        let blocker = try harness.database.connect()
        try blocker.query("BEGIN")
        try blocker.query("LOCK TABLE heartbeat_event IN ACCESS EXCLUSIVE MODE")
        return (harness, blocker)
    }

    @Test("PostgreSQL stalled (a lock holds every COPY): the drain never waits; batches spill to the spool, every row is stored once or counted, every arrival reaches last-seen")
    func stalledWritersSpillToTheSpool() throws {
        let (harness, blocker) = try Self.stalledStorage()
        var sequence: UInt64 = 0
        // 1,000 rows = 20 batches: one stuck in the writer, two queued, the rest to the spill
        // thread (or, past its queue, dropped for storage and counted). Each arrival reaches
        // last-seen at once: the drain waits for nobody.
        let started = Date()
        for _ in 0..<1_000 {
            sequence += 1
            harness.sender.send(harness.record(1, sequence: sequence))
        }
        let seenDeadline = Date().addingTimeInterval(5)
        while harness.pipeline.lastSeen.entry(for: harness.applications[1].id).sequence < 1_000, Date() < seenDeadline { usleep(5_000) }
        let seenAfter = Date().timeIntervalSince(started)
        #expect(harness.pipeline.lastSeen.entry(for: harness.applications[1].id).sequence == 1_000)
        #expect(seenAfter < 2, "the last arrival reached last-seen after \(seenAfter) s, with storage stuck")
        let deadline = Date().addingTimeInterval(20)
        while harness.pipeline.metrics.batchesSpilledOnStall.load(ordering: .relaxed) < 3, Date() < deadline { usleep(50_000) }
        let spilled = harness.pipeline.metrics.batchesSpilledOnStall.load(ordering: .relaxed)
        #expect(spilled >= 3, "no batch spilled while the writer was stuck")
        try blocker.query("COMMIT")
        let statistics = harness.settled(expectingReceived: 1_000, timeout: 30)
        let replayDeadline = Date().addingTimeInterval(30)
        while harness.pipeline.spool.pendingRows > 0, Date() < replayDeadline { usleep(50_000) }
        harness.pipeline.shutdown()
        let final = harness.pipeline.statistics
        #expect(statistics.rejected[.overload, default: 0] == 0, "\(statistics)")
        #expect(final.rowsSpooled > 0 && final.rowsReplayedFromSpool == final.rowsSpooled, "\(final)")
        #expect(final.isBalanced, "\(final)")
        // Stored once each, or dropped for storage (the spill thread's queue was full) and counted.
        let stored = UInt64(try harness.storedRowCount())
        let counts = try harness.connection.query("SELECT count(*) = count(DISTINCT seq) FROM heartbeat_event")
        #expect(counts == [["t"]])
        #expect(stored + final.rowsDroppedStorageBusy == 1_000 && stored >= 500, "\(final)")
    }

    @Test("PostgreSQL unreachable mid-run: batches spool, then replay when it returns; every row exactly once")
    func spoolAndReplay() throws {
        let harness = try Harness()
        let administration = try PostgresConnection(url: try serviceURL("HEARTBEAT_DATABASE_URL"))
        var sequence: UInt64 = 0
        func sendBatch(_ count: Int) {
            for _ in 0..<count {
                sequence += 1
                harness.sender.send(harness.record(1, sequence: sequence))
            }
        }
        sendBatch(50)
        _ = harness.settled(expectingReceived: 50)
        // The outage: refuse new connections to this database and end the existing ones.
        try administration.query("ALTER DATABASE \(harness.database.name) ALLOW_CONNECTIONS false")
        try administration.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(harness.database.name)' AND pid <> pg_backend_pid()")
        sendBatch(100)
        let during = harness.settled(expectingReceived: 150)
        #expect(during.rowsSpooled >= 100, "\(during)")
        #expect(harness.pipeline.spool.pendingRows >= 100)
        try administration.query("ALTER DATABASE \(harness.database.name) ALLOW_CONNECTIONS true")
        let deadline = Date().addingTimeInterval(15)
        while harness.pipeline.spool.pendingRows > 0, Date() < deadline { usleep(50_000) }
        sendBatch(25)
        let after = harness.settled(expectingReceived: 175)
        harness.pipeline.shutdown()
        #expect(harness.pipeline.spool.pendingRows == 0)
        #expect(after.rowsReplayedFromSpool == after.rowsSpooled)
        let counts = try harness.database.connect().query("SELECT count(*), count(DISTINCT seq) FROM heartbeat_event")
        #expect(counts == [["175", "175"]], "\(after)")
    }

    @Test("a record whose sent_at PostgreSQL cannot store is malformed, and the 20 beats after it are stored")
    func poisonRecordIsMalformed() throws {
        let harness = try Harness()
        // Application 1 is unsigned: its clock is never checked against the collector's.
        harness.sender.send(harness.record(1, sequence: 1, sentAt: -300_000_000_000_000_000))
        for sequence in 2...21 { harness.sender.send(harness.record(1, sequence: UInt64(sequence))) }
        let statistics = harness.settled(expectingReceived: 21)
        harness.pipeline.shutdown()
        #expect(statistics.rejected[.malformed] == 1, "\(statistics)")
        #expect(try harness.storedRowCount() == 20, "\(statistics)")
    }

    @Test("a spool file holding a row PostgreSQL refuses is bisected on replay: the rest stored, the row dead-lettered, the spool emptied")
    func poisonSpoolFileIsBisected() throws {
        let now = Harness.now()
        let harness = try Harness { configuration in
            // What an earlier version could leave behind: a spooled batch with one unstorable row.
            var encoder = BinaryCopyEncoder(reservingRows: 100)
            for index in 0..<100 {
                encoder.append(HeartbeatRow(
                    applicationID: 2, kind: .beat, instance: 3, sequence: UInt64(index + 1), receivedAtMicros: now,
                    sentAtMicros: index == 50 ? -300_000_000_000_000_000 : now, status: 0))
            }
            let spool = try! Spool(directory: configuration.spoolDirectory, capacityBytes: 1 << 20)
            _ = try! encoder.finish { try spool.append(body: $0, rows: 100) }
        }
        let deadline = Date().addingTimeInterval(15)
        while harness.pipeline.spool.pendingRows > 0, Date() < deadline { usleep(50_000) }
        // Later records are stored as usual: nothing is stuck behind the bad row.
        harness.sender.send(harness.record(1, sequence: 1))
        let statistics = harness.settled(expectingReceived: 1)
        harness.pipeline.shutdown()
        #expect(harness.pipeline.spool.pendingRows == 0, "\(statistics)")
        #expect(statistics.rowsReplayedFromSpool == 99 && statistics.rowsDeadLetteredFromSpool == 1, "\(statistics)")
        #expect(try harness.storedRowCount() == 100, "99 replayed + 1 new")
        let deadLetters = try String(contentsOfFile: harness.spoolDirectory + "/dead-letter.jsonl", encoding: .utf8)
        #expect(deadLetters.contains(#""seq":"51""#) && deadLetters.contains(#""sqlstate":"22008""#), "\(deadLetters)")
        #expect(!harness.pipeline.snapshot().storage.stalled)
    }

    @Test("rows waiting with no commit past the stall limit make storage stalled; it clears once they are stored")
    func storageStallIsReported() throws {
        let harness = try Harness { configuration in configuration.storageStallLimitMillis = 1_000 }
        let administration = try PostgresConnection(url: try serviceURL("HEARTBEAT_DATABASE_URL"))
        #expect(!harness.pipeline.snapshot().storage.stalled)
        try administration.query("ALTER DATABASE \(harness.database.name) ALLOW_CONNECTIONS false")
        try administration.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(harness.database.name)' AND pid <> pg_backend_pid()")
        for sequence in 1...10 { harness.sender.send(harness.record(1, sequence: UInt64(sequence))) }
        var deadline = Date().addingTimeInterval(10)
        while !harness.pipeline.snapshot().storage.stalled, Date() < deadline { usleep(50_000) }
        #expect(harness.pipeline.snapshot().storage.stalled, "rows spooled with no commit for over a second")
        try administration.query("ALTER DATABASE \(harness.database.name) ALLOW_CONNECTIONS true")
        deadline = Date().addingTimeInterval(15)
        while harness.pipeline.snapshot().storage.stalled, Date() < deadline { usleep(50_000) }
        #expect(!harness.pipeline.snapshot().storage.stalled)
        harness.pipeline.shutdown()
        #expect(try harness.database.connect().query("SELECT count(*) FROM heartbeat_event") == [["10"]])
    }

    @Test("a flood of made-up instances spends its budget first and then holds at most the per-application cap of windows")
    func instanceFloodIsCapped() throws {
        let harness = try Harness { configuration in
            configuration.appRateLimit = 100
            configuration.appBurst = 200
            configuration.appMaxInstances = 50
        }
        // Application 1 is unsigned; every record claims a new instance.
        for instance in 0..<5_000 { harness.sender.send(harness.record(1, sequence: 1, instance: UInt32(instance))) }
        let statistics = harness.settled(expectingReceived: 5_000)
        // A known instance still gets through, and so does another application. The flood left
        // application 1's budget spent, up to its last admitted record: one emission interval
        // (10 ms at 100/s) after it, there is room for one more, so wait three.
        usleep(30_000)
        harness.sender.send(harness.record(1, sequence: 2, instance: 7))
        let other = harness.record(2, sequence: 1, instance: 99_999)
        harness.sender.send(other)
        let after = harness.settled(expectingReceived: 5_002)
        let windows = harness.pipeline.metrics.replayWindows.load(ordering: .relaxed)
        harness.pipeline.shutdown()
        let limited = statistics.rejected[.instanceLimit, default: 0], rated = statistics.rejected[.rateLimited, default: 0]
        #expect(statistics.recordsAccepted == 50, "\(statistics)")
        #expect(limited > 0 && rated > 0 && limited + rated + statistics.recordsAccepted == 5_000, "\(statistics)")
        // The budget (200 + 100/s) bounds what reaches the window check.
        #expect(limited + 50 <= 200 + 100 * 10, "\(statistics)")
        #expect(after.recordsAccepted == 52, "\(after)")
        #expect(windows == 51)
    }

    @Test("auto-registration stops at --auto-register-max unnamed applications; the rest stay unknown_app and are counted")
    func autoRegistrationCap() throws {
        let harness = try Harness { $0.autoRegister = true; $0.autoRegisterPerMinute = 1_000; $0.autoRegisterMaximum = 2 }
        let newcomers = (0..<6).map { _ in ApplicationUUID.random() }
        for round in 1...15 {
            for uuid in newcomers {
                harness.sender.send(HeartbeatRecord(kind: .beat, application: uuid, instance: 1, sequence: UInt64(round), sentAtMicros: Harness.now()).encoded())
            }
            usleep(200_000)
        }
        let statistics = harness.settled(expectingReceived: 90)
        harness.pipeline.shutdown()
        #expect(harness.pipeline.snapshot().registry.applicationsAutoRegistered == 2)
        #expect(harness.pipeline.snapshot().registry.autoRegistrationsSkipped > 0)
        #expect(try harness.connection.query("SELECT count(*) FROM application WHERE auto_registered") == [["2"]])
        #expect(statistics.rejected[.unknownApplication, default: 0] >= 60, "\(statistics)")
    }

    @Test("a short stall of PostgreSQL is absorbed by held batches: nothing spilled, nothing dropped, every row stored once")
    func shortStallIsHeld() throws {
        let (harness, blocker) = try Self.stalledStorage()
        // 300 rows = 6 batches: one stuck in the writer, two queued, three held by the drain.
        for sequence in 1...300 { harness.sender.send(harness.record(1, sequence: UInt64(sequence))) }
        usleep(200_000)  // well under the 500 ms a batch is held before it spills
        try blocker.query("COMMIT")
        let statistics = harness.settled(expectingReceived: 300)
        harness.pipeline.shutdown()
        #expect(harness.pipeline.metrics.batchesSpilledOnStall.load(ordering: .relaxed) == 0, "\(statistics)")
        #expect(statistics.rowsSpooled == 0 && statistics.rowsDroppedStorageBusy == 0, "\(statistics)")
        #expect(try harness.connection.query("SELECT count(*), count(DISTINCT seq) FROM heartbeat_event") == [["300", "300"]])
    }
}
