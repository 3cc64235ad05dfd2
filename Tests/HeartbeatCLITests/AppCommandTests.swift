import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
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
        let pingKey = try #require(field(added.standardOutput, "ping key"))
        #expect(pingKey == PingKey.hex(for: try ApplicationSecret(hex: secret)))
        #expect(added.standardOutput.contains("ping it: curl -fsS -m 10 --retry 3 -H 'Authorization: Bearer \(pingKey)' http://127.0.0.1:7412/ping/\(uuid)\n"), "\(added.standardOutput)")
        #expect(try connection.query("SELECT name, interval_ms, grace_ms, encode(secret, 'hex') FROM application") == [["nightly backup", "86400000", "3600000", secret]])

        let listed = try app(["list"])
        #expect(listed.status == 0 && listed.standardOutput.contains(uuid) && listed.standardOutput.contains("nightly backup"))
        let lines = listed.standardOutput.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("UUID ") && lines[0].hasSuffix("NAME") && lines[1].hasPrefix(uuid + "  new "))
        #expect(try app(["list", "--state", "down"]).standardOutput.split(separator: "\n").count == 1, "the header alone")
        let quiet = try app(["add", "-q", "quiet one"])
        #expect(quiet.status == 0 && quiet.standardOutput.split(separator: "\n").count == 1 && ApplicationUUID(quiet.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)
        let quietSigned = try app(["add", "-q", "--signed", "quiet signed"]).standardOutput.split(separator: "\n")
        #expect(quietSigned.count == 3, "uuid, secret, ping key")
        let quietSecret = try ApplicationSecret(hex: String(quietSigned[1]))
        #expect(quietSigned[2] == PingKey.hex(for: quietSecret))
        #expect(try app(["rm", String(quietSigned[0])]).status == 0)
        let unsigned = try app(["add", "open one", "--public-url", "https://hb.example/"])
        let unsignedUUID = try #require(field(unsigned.standardOutput, "uuid"))
        #expect(unsigned.standardOutput.contains("ping it: curl -fsS -m 10 --retry 3 https://hb.example/ping/\(unsignedUUID)\n") && field(unsigned.standardOutput, "ping key") == nil)
        #expect(try app(["rm", unsignedUUID]).status == 0)
        let listedJSON = try app(["list", "--json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(listedJSON.standardOutput.utf8)) as? [[String: Any]])
        #expect(array.map { $0["name"] as? String } == ["nightly backup", "quiet one"])
        #expect(array.first?["uuid"] as? String == uuid && array.first?["interval_ms"] as? Int == 86_400_000 && array.first?["last_heartbeat"] is NSNull)
        #expect((try JSONSerialization.jsonObject(with: Data(try app(["list", "--json", "--state", "down"]).standardOutput.utf8)) as? [Any])?.isEmpty == true)
        #expect(try app(["rm", quiet.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)]).status == 0)
        let shown = try app(["show", uuid])
        #expect(shown.status == 0 && field(shown.standardOutput, "status") == "new" && field(shown.standardOutput, "signed") == "yes")
        #expect(!shown.standardOutput.contains(secret), "the secret is shown only when it is made")
        #expect(field(shown.standardOutput, "uptime (last 30 days)") == "none", "never heard from: no figure")
        let badgeKey = try #require(try connection.query("SELECT badge_key FROM application WHERE uuid = '\(uuid)'").first?.first ?? nil)
        #expect(shown.standardOutput.contains("badge: /badge/\(badgeKey).svg"))

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
        let scheduled = try app(["add", "weekday backup", "--cron", "0 3 * * 1-5", "--time-zone", "Europe/Berlin", "--grace-ms", "600000"])
        #expect(scheduled.status == 0 && scheduled.standardOutput.contains("schedule: 0 3 * * 1-5 in Europe/Berlin (at 03:00 on Monday through Friday (Europe/Berlin))"),
                "\(scheduled.standardOutput)\(scheduled.standardError)")
        #expect(try connection.query("SELECT interval_ms IS NULL, schedule_cron, schedule_time_zone FROM application WHERE name = 'weekday backup'")
            == [["t", "0 3 * * 1-5", "Europe/Berlin"]])
        let badZone = try app(["add", "y", "--cron", "@daily", "--time-zone", "Mars/Olympus"])
        #expect(badZone.status == 1 && badZone.standardError.contains("schedule.time_zone"), "\(badZone.standardError)")
        let both = try app(["add", "y", "--cron", "@daily", "--interval-ms", "1000"])
        #expect(both.status != 0 && both.standardError.contains("one or the other"), "\(both.standardError)")
        let noDatabase = try runProcess(heartbeatExecutable(), ["app", "list"], environment: ["HEARTBEAT_DATABASE_URL": ""])
        #expect(noDatabase.status == 2 && noDatabase.standardError.contains("no database"))
    }

    @Test("on a database never migrated, the commands say to run heartbeat migrate; names are printed escaped")
    func unmigratedAndEscaped() throws {
        let database = try TestDatabase()
        let environment = ["HEARTBEAT_DATABASE_URL": database.url]
        let listed = try runProcess(heartbeatExecutable(), ["app", "list"], environment: environment)
        #expect(listed.status == 1)
        #expect(listed.standardError.contains("run `heartbeat migrate`"), "\(listed.standardError)")
        #expect(!listed.standardError.contains("^"), "no caret block")

        let connection = try database.connect()
        try Migrator().migrate(connection)
        // A name written straight into the database, past the API's checks.
        try connection.query("INSERT INTO application (uuid, name) VALUES ('0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b', E'evil\\x1b[2J\\u202Eexe.txt')")
        let shown = try runProcess(heartbeatExecutable(), ["app", "list"], environment: environment)
        #expect(shown.status == 0)
        #expect(!shown.standardOutput.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
        #expect(shown.standardOutput.contains(#"evil\u{1B}[2J\u{202E}exe.txt"#), "\(shown.standardOutput)")
        let added = try runProcess(heartbeatExecutable(), ["app", "add", "bad\u{7}name"], environment: environment)
        #expect(added.status == 1 && added.standardError.contains("control characters"), "\(added.standardError)")
    }
}
