@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// A batch PostgreSQL refuses for some rows' content never blocks the rest: against a real
/// PostgreSQL, bad rows are isolated and dead-lettered, the rest stored, missing partitions made.
@Suite("Storing a batch with bad rows")
struct BatchStorerTests {
    /// 2026-01-01T12:00:00Z.
    let noon: Int64 = 1_767_268_800_000_000

    final class Setup {
        let database: TestDatabase
        let connection: PostgresConnection
        let directory = NSTemporaryDirectory() + "heartbeat-dead-letter-\(UUID().uuidString)"
        let deadLetters: DeadLetterFile

        init(noon: Int64) throws {
            database = try TestDatabase()
            connection = try database.connect()
            try Migrator().migrate(connection)
            try PartitionMaintainer().maintain(connection, nowMicros: noon)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            deadLetters = DeadLetterFile(directory: directory)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        var storer: BatchStorer { BatchStorer(connection: connection, partitions: PartitionMaintainer(), deadLetters: deadLetters) }

        func deadLetterLines() throws -> [[String: Any]] {
            guard FileManager.default.fileExists(atPath: deadLetters.path) else { return [] }
            return try String(contentsOfFile: deadLetters.path, encoding: .utf8).split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }

        func storedSequences() throws -> [String] {
            try connection.query("SELECT seq FROM heartbeat_event ORDER BY seq").map { $0[0] ?? "" }
        }
    }

    func rows(_ count: Int, noon: Int64, change: [Int: (inout HeartbeatRow) -> Void] = [:]) -> BinaryCopyEncoder {
        var encoder = BinaryCopyEncoder(reservingRows: count)
        for index in 0..<count {
            var row = HeartbeatRow(
                applicationID: 1, kind: .beat, instance: 9, sequence: UInt64(index + 1), receivedAtMicros: noon + Int64(index),
                sentAtMicros: noon, status: 0)
            change[index]?(&row)
            encoder.append(row)
        }
        return encoder
    }

    @Test("a row whose sent_at PostgreSQL cannot store is dead-lettered; the other 999 rows are stored")
    func poisonRowIsIsolated() throws {
        let setup = try Setup(noon: noon)
        var batch = rows(1_000, noon: noon, change: [417: { $0.sentAtMicros = -300_000_000_000_000_000 }])
        let outcome = batch.finish { setup.storer.store($0, rows: 1_000, source: "batch") }
        #expect(outcome == .settled(stored: 999, deadLettered: 1))
        let stored = try setup.storedSequences()
        #expect(stored.count == 999 && !stored.contains("418"))
        let lines = try setup.deadLetterLines()
        #expect(lines.count == 1)
        #expect(lines.first?["seq"] as? String == "418")
        #expect(lines.first?["sqlstate"] as? String == "22008")
        #expect(lines.first?["sent_at_us"] as? Int == -300_000_000_000_000_000)
        #expect(lines.first?["source"] as? String == "batch")
        let mode = try FileManager.default.attributesOfItem(atPath: setup.deadLetters.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("a row that breaks one of the table's own checks is dead-lettered with the constraint's SQLSTATE")
    func checkViolationIsIsolated() throws {
        let setup = try Setup(noon: noon)
        try setup.connection.query("ALTER TABLE heartbeat_event ADD CONSTRAINT no_666 CHECK (status <> 666)")
        var batch = rows(10, noon: noon, change: [0: { $0.status = 666 }, 9: { $0.status = 666 }])
        let outcome = batch.finish { setup.storer.store($0, rows: 10, source: "spool") }
        #expect(outcome == .settled(stored: 8, deadLettered: 2))
        #expect(try setup.deadLetterLines().map { $0["seq"] as? String } == ["1", "10"])
        #expect(try setup.deadLetterLines().allSatisfy { $0["sqlstate"] as? String == "23514" })
    }

    @Test("a row with no partition is not bad data: its partition is created and the batch stored whole")
    func missingPartitionIsCreated() throws {
        let setup = try Setup(noon: noon)
        let later = noon + 40 * 86_400_000_000
        var batch = rows(20, noon: noon, change: [19: { $0.receivedAtMicros = later }])
        let outcome = batch.finish { setup.storer.store($0, rows: 20, source: "batch") }
        #expect(outcome == .settled(stored: 20, deadLettered: 0))
        #expect(try setup.connection.query("SELECT count(*) FROM heartbeat_event_20260210") == [["1"]])
        #expect(try setup.deadLetterLines().isEmpty)
    }

    @Test("an unreachable database leaves the whole batch to the spool, untouched")
    func unavailableSpoolsEverything() throws {
        let setup = try Setup(noon: noon)
        try setup.connection.query("DROP TABLE heartbeat_event")  // an operator's mistake: not the rows' fault
        var batch = rows(5, noon: noon)
        let outcome = batch.finish { setup.storer.store($0, rows: 5, source: "batch") }
        #expect(outcome == BatchStorer.Outcome.unavailable(stored: 0, deadLettered: 0, remaining: nil, remainingRows: 5))
        #expect(try setup.deadLetterLines().isEmpty)
    }

    @Test("while bisecting, each checkpoint holds exactly the rows neither stored nor dead-lettered yet")
    func checkpoints() throws {
        let setup = try Setup(noon: noon)
        var batch = rows(100, noon: noon, change: [50: { $0.sentAtMicros = -300_000_000_000_000_000 }])
        var left = [Int]()
        var stored = 0
        let outcome = batch.finish { body in
            setup.storer.store(body, rows: 100, source: "spool") { remaining, count in
                let view = remaining.withUnsafeBytes { CopyBody($0)?.rowCount }
                left.append(count)
                #expect(view == count, "the checkpoint is a complete body of its rows")
                stored = Int(try! setup.connection.query("SELECT count(*) FROM heartbeat_event")[0][0]!)!
                #expect(stored + count + (stored + count < 100 ? 1 : 0) == 100, "stored \(stored) + left \(count)")
            }
        }
        #expect(outcome == .settled(stored: 99, deadLettered: 1))
        #expect(left.last == 0 && left == left.sorted(by: >), "\(left)")
        #expect(stored == 99)
    }
}
