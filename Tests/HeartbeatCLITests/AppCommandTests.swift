import Collector
import Foundation
import HeartbeatTestSupport
import Testing

/// `heartbeat app add|list|show|rm|pause|resume` as a process, against real PostgreSQL.
@Suite("heartbeat app (process)")
struct AppCommandTests {
    @Test("add (signed: the secret once), list, show, pause, resume, rm; clear errors for a bad UUID or no database")
    func lifecycle() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let environment = ["HEARTBEAT_DATABASE_URL": database.url]
        func app(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(heartbeatExecutable(), ["app"] + arguments, environment: environment)
        }
        let added = try app(["add", "nightly backup", "--interval-ms", "86400000", "--grace-ms", "3600000", "--signed"])
        #expect(added.status == 0, "\(added.standardError)")
        func field(_ output: String, _ name: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2).split(separator: " ").first ?? "") }
        }
        let uuid = try #require(field(added.standardOutput, "uuid"))
        let secret = try #require(field(added.standardOutput, "secret"))
        #expect(secret.count == 64)
        #expect(try connection.query("SELECT name, interval_ms, grace_ms, encode(secret, 'hex') FROM application") == [["nightly backup", "86400000", "3600000", secret]])

        let listed = try app(["list"])
        #expect(listed.status == 0 && listed.standardOutput.contains(uuid) && listed.standardOutput.contains("nightly backup"))
        #expect(try app(["list", "--state", "down"]).standardOutput.isEmpty)
        let shown = try app(["show", uuid])
        #expect(shown.status == 0 && field(shown.standardOutput, "status") == "new" && field(shown.standardOutput, "signed") == "yes")
        #expect(!shown.standardOutput.contains(secret), "the secret is shown only when it is made")

        #expect(field(try app(["pause", uuid]).standardOutput, "status") == "paused")
        #expect(field(try app(["resume", uuid]).standardOutput, "status") == "new")
        #expect(try connection.query("SELECT reason FROM status_change ORDER BY id") == [["operator_pause"], ["operator_resume"]])

        #expect(try app(["rm", uuid]).status == 0)
        let gone = try app(["show", uuid])
        #expect(gone.status == 1 && gone.standardError.contains("no application"))
        let bad = try app(["show", "not-a-uuid"])
        #expect(bad.status == 2 && bad.standardError.contains("not an application UUID"))
        let invalid = try app(["add", "x", "--interval-ms", "0"])
        #expect(invalid.status == 1 && invalid.standardError.contains("interval_ms"))
        let noDatabase = try runProcess(heartbeatExecutable(), ["app", "list"], environment: ["HEARTBEAT_DATABASE_URL": ""])
        #expect(noDatabase.status == 2 && noDatabase.standardError.contains("no database"))
    }
}
