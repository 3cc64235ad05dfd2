import Collector
import Foundation
import HeartbeatTestSupport
import Testing

@Suite("Schema migrations")
struct MigratorTests {
    @Test("a new database gets every migration once; a second run applies nothing")
    func migratesOnce() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        let migrator = Migrator()
        #expect(try migrator.migrate(connection) == Array(1...migrator.migrations.count))
        #expect(try migrator.migrate(connection) == [])
        let tables = try connection.query(
            "SELECT relname FROM pg_class WHERE relname IN ('application', 'heartbeat_event', 'status_change', 'registry_version', 'schema_migration') ORDER BY relname")
        #expect(tables.map { $0[0] } == ["application", "heartbeat_event", "registry_version", "schema_migration", "status_change"])
        // heartbeat_event is partitioned by range on received_at.
        #expect(try connection.query("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'heartbeat_event'::regclass") == [["r"]])
        let indexes = try connection.query("SELECT indexdef FROM pg_indexes WHERE tablename IN ('application', 'heartbeat_event')").compactMap { $0[0] }
        for column in ["(uuid)", "(is_active)", "(application_id, received_at)"] {
            #expect(indexes.contains { $0.hasSuffix(column) }, "an index on \(column)")
        }
        // Migration 8: no index on last_heartbeat (its writer's updates are HOT), and room on application pages.
        #expect(!indexes.contains { $0.hasSuffix("(last_heartbeat)") })
        #expect(try connection.query("SELECT reloptions::text FROM pg_class WHERE relname = 'application'") == [["{fillfactor=85}"]])
    }

    @Test("collectors starting together apply each migration exactly once")
    func concurrentStarts() async throws {
        let database = try TestDatabase()
        let url = database.url
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask { try Migrator().migrate(PostgresConnection(url: url)) }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == Array(1...Migrator().migrations.count))
        #expect(try database.connect().query("SELECT count(*) FROM schema_migration") == [[String(Migrator().migrations.count)]])
    }

    @Test("a database from a newer build is refused with a clear message")
    func refusesNewerSchema() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("INSERT INTO schema_migration (version, name) VALUES (999, 'future')")
        #expect {
            try Migrator().migrate(connection)
        } throws: { error in
            "\(error)".contains("schema version 999")
        }
    }

    @Test("registry changes bump the registry version; status updates do not")
    func registryVersion() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        func version() throws -> String? { try connection.query("SELECT version FROM registry_version")[0][0] }
        let start = try version()
        try connection.query("INSERT INTO application (uuid, name) VALUES (gen_random_uuid(), 'a')")
        let afterInsert = try version()
        #expect(afterInsert != start)
        try connection.query("UPDATE application SET status = 'up', last_heartbeat = now()")
        #expect(try version() == afterInsert)
        try connection.query("UPDATE application SET is_active = false")
        #expect(try version() != afterInsert)
    }

    @Test("the embedded migrations are Spec/schema's files")
    func embeddedMatchesSpec() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/embed-migrations")
        process.arguments = ["--check"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "run scripts/embed-migrations")
    }
}
