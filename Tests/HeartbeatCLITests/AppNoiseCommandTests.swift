import Collector
import Foundation
import HeartbeatTestSupport
import Testing

/// `heartbeat app add|set` with thresholds and a reminder period, as a process, against real PostgreSQL.
@Suite("heartbeat app set (process)")
struct AppNoiseCommandTests {
    /// A fresh migrated database, and `heartbeat app …` run against it.
    static func migratedDatabase() throws -> (PostgresConnection, ([String]) throws -> ProcessResult) {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        return (connection, { arguments in
            try runProcess(heartbeatExecutable(), ["app"] + arguments, environment: ["HEARTBEAT_DATABASE_URL": database.url])
        })
    }

    @Test("add takes --down-after, --up-after and --remind-every-ms; set changes them, --remind-default clears; bad values name the field")
    func thresholds() throws {
        let (connection, app) = try Self.migratedDatabase()
        let added = try app(["add", "-q", "flaky", "--down-after", "3"])
        #expect(added.status == 0, "\(added.standardError)")
        let uuid = added.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try connection.query("SELECT down_after, up_after, remind_every_ms FROM application") == [["3", "1", nil]])

        let set = try app(["set", uuid, "--up-after", "2", "--remind-every-ms", "3600000"])
        #expect(set.status == 0, "\(set.standardError)")
        #expect(set.standardOutput.contains("down_after: 3  up_after: 2  remind_every_ms: 3600000"), "\(set.standardOutput)")
        #expect(try app(["set", uuid, "--remind-every-ms", "0"]).standardOutput.contains("remind_every_ms: never"))
        #expect(try app(["set", uuid, "--remind-default"]).standardOutput.contains("remind_every_ms: default"))
        #expect(try connection.query("SELECT down_after, up_after, remind_every_ms FROM application") == [["3", "2", nil]])
        #expect(try app(["show", uuid]).standardOutput.contains("down_after: 3  up_after: 2  remind_every_ms: default"))

        for (arguments, field) in [(["--down-after", "0"], "down_after"), (["--up-after", "1001"], "up_after"), (["--remind-every-ms", "999"], "remind_every_ms")] {
            let refused = try app(["set", uuid] + arguments)
            #expect(refused.status != 0 && refused.standardError.contains(field), "\(arguments): \(refused.standardError)")
        }
        #expect(try connection.query("SELECT down_after, up_after, remind_every_ms FROM application") == [["3", "2", nil]], "nothing changed by a refused value")
        let both = try app(["set", uuid, "--remind-every-ms", "5000", "--remind-default"])
        #expect(both.status != 0 && both.standardError.contains("one or the other"))
    }

    @Test("--min-instances: add and set take it, show prints it, 0 and 1001 are refused naming min_instances")
    func minInstances() throws {
        let (connection, app) = try Self.migratedDatabase()
        let added = try app(["add", "-q", "web", "--min-instances", "3"])
        #expect(added.status == 0, "\(added.standardError)")
        let uuid = added.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try connection.query("SELECT min_instances FROM application") == [["3"]])
        let set = try app(["set", uuid, "--min-instances", "2"])
        #expect(set.status == 0 && set.standardOutput.contains("min_instances: 2"), "\(set.standardOutput)\(set.standardError)")
        #expect(try app(["show", uuid]).standardOutput.contains("min_instances: 2"))
        for value in ["0", "1001"] {
            let refused = try app(["set", uuid, "--min-instances", value])
            #expect(refused.status != 0 && refused.standardError.contains("min_instances"), "\(value): \(refused.standardError)")
        }
        #expect(try connection.query("SELECT min_instances FROM application") == [["2"]], "nothing changed by a refused value")
    }
}
