import HeartbeatTestSupport
import Collector
import Protocol
import Testing

@Suite("Binary COPY into heartbeat_event")
struct BinaryCopyTests {
    /// Stores `rows` with one binary COPY, as the writers do; returns the rows PostgreSQL stored.
    struct Writer {
        let connection: PostgresConnection
        var expectedBatchRows = 50_000

        func write(_ rows: [HeartbeatRow]) throws(PostgresError) -> Int {
            var encoder = BinaryCopyEncoder(reservingRows: expectedBatchRows)
            for row in rows { encoder.append(row) }
            return try encoder.finish { body throws(PostgresError) in try connection.copyIn(BinaryCopyEncoder.copyStatement, data: body) }
        }
    }

    /// 2026-01-01T12:00:00Z.
    let noon: Int64 = 1_767_268_800_000_000

    func migratedDatabase() throws -> (TestDatabase, PostgresConnection) {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try PartitionMaintainer().maintain(connection, nowMicros: noon)
        return (database, connection)
    }

    @Test("rows land with exactly the values written, edge values included")
    func valuesRoundTrip() throws {
        let (database, connection) = try migratedDatabase()
        _ = database
        let rows = [
            HeartbeatRow(applicationID: 1, kind: .beat, instance: 0, sequence: 1, receivedAtMicros: noon, sentAtMicros: noon - 1, status: 0),
            HeartbeatRow(applicationID: 2, kind: .fail, instance: .max, sequence: .max, receivedAtMicros: noon + 123_456,
                         sentAtMicros: 0, status: -7),
            HeartbeatRow(applicationID: .max, kind: .stop, instance: 42, sequence: 1 << 63, receivedAtMicros: noon + 1,
                         sentAtMicros: -1_000_000, status: .min),
        ]
        let writer = Writer(connection: connection, expectedBatchRows: 1)
        #expect(try writer.write(rows) == 3)
        let stored = try connection.query("""
            SELECT application_id,
                   (extract(epoch FROM received_at) * 1000000)::bigint,
                   (extract(epoch FROM sent_at) * 1000000)::bigint,
                   instance, seq, kind, status
            FROM heartbeat_event ORDER BY received_at
            """)
        #expect(stored == [
            ["1", String(noon), String(noon - 1), "0", "1", "0", "0"],
            ["2147483647", String(noon + 1), "-1000000", "42", String(Int64.min), "4", String(Int32.min)],
            ["2", String(noon + 123_456), "0", String(UInt32.max), "-1", "3", "-7"],
        ])
    }

    @Test("a large batch grows the buffer and is stored whole")
    func largeBatch() throws {
        let (database, connection) = try migratedDatabase()
        _ = database
        var rows = [HeartbeatRow]()
        for index in 0..<100_000 {
            rows.append(HeartbeatRow(
                applicationID: Int32(index % 1000 + 1), kind: .beat, instance: 7, sequence: UInt64(index + 1),
                receivedAtMicros: noon + Int64(index), sentAtMicros: noon, status: 0))
        }
        #expect(try Writer(connection: connection, expectedBatchRows: 10).write(rows) == 100_000)
        #expect(try connection.query("SELECT count(*), count(DISTINCT seq) FROM heartbeat_event") == [["100000", "100000"]])
    }

    @Test("a row outside every partition fails the whole batch, and the connection stays usable")
    func failedBatchIsAtomic() throws {
        let (database, connection) = try migratedDatabase()
        _ = database
        let writer = Writer(connection: connection)
        let good = HeartbeatRow(applicationID: 1, kind: .beat, instance: 1, sequence: 1, receivedAtMicros: noon, sentAtMicros: noon, status: 0)
        var lost = good
        lost.receivedAtMicros = noon + 30 * 86_400_000_000
        #expect(throws: PostgresError.self) { try writer.write([good, lost]) }
        #expect(try connection.query("SELECT count(*) FROM heartbeat_event") == [["0"]])
        #expect(try writer.write([good]) == 1)
    }

    @Test("partitions are kept from yesterday to two days ahead and dropped after the retention")
    func partitions() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let maintainer = PartitionMaintainer(daysAhead: 2, retentionDays: 3)
        let first = try maintainer.maintain(connection, nowMicros: noon)
        #expect(first.created == ["heartbeat_event_20251231", "heartbeat_event_20260101", "heartbeat_event_20260102", "heartbeat_event_20260103"])
        #expect(try maintainer.maintain(connection, nowMicros: noon).created == [])
        let later = try maintainer.maintain(connection, nowMicros: noon + 4 * 86_400_000_000)
        #expect(later.dropped.sorted() == ["heartbeat_event_20251231", "heartbeat_event_20260101"])
        #expect(later.created == ["heartbeat_event_20260104", "heartbeat_event_20260105", "heartbeat_event_20260106", "heartbeat_event_20260107"])
    }
}
