import Collector
import Foundation
import HeartbeatTestSupport
import Testing

/// `heartbeat silence add|list|rm` as a process, against real PostgreSQL.
@Suite("heartbeat silence (process)")
struct SilenceCommandTests {
    @Test("add (one-off and recurring), list, rm; mistakes name the option or field and store nothing")
    func lifecycle() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        func silence(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(heartbeatExecutable(), ["silence"] + arguments, environment: ["HEARTBEAT_DATABASE_URL": database.url])
        }
        let added = try silence(["add", "--all", "--until", "2099-01-01T00:00:00Z", "--comment", "upgrade"])
        #expect(added.status == 0, "\(added.standardError)")
        #expect(added.standardOutput.hasPrefix("1  active until 2099-01-01T00:00:00"), "\(added.standardOutput)")
        #expect(added.standardOutput.contains("all applications") && added.standardOutput.contains("# upgrade"))
        let weekly = try silence(["add", "--label", "team=db", "--cron", "0 2 * * 0", "--duration-ms", "7200000", "--time-zone", "Europe/Berlin"])
        #expect(weekly.status == 0, "\(weekly.standardError)")
        #expect(weekly.standardOutput.contains("labels team=db") && weekly.standardOutput.contains("0 2 * * 0 in Europe/Berlin for 7200000 ms"))
        let listed = try silence(["list"]).standardOutput.split(separator: "\n")
        #expect(listed.count == 2 && listed[0].hasPrefix("1  ") && listed[1].hasPrefix("2  "))

        let both = try silence(["add", "--all", "--name-prefix", "db", "--until", "2099-01-01T00:00:00Z"])
        #expect(both.status == 1 && both.standardError.contains("selector"), "\(both.standardError)")
        let badTime = try silence(["add", "--all", "--until", "tomorrow"])
        #expect(badTime.status != 0 && badTime.standardError.contains("--until"), "\(badTime.standardError)")
        #expect(try connection.query("SELECT count(*) FROM silence") == [["2"]])

        #expect(try silence(["rm", "1"]).standardOutput == "removed silence 1\n")
        let missing = try silence(["rm", "1"])
        #expect(missing.status == 1 && missing.standardError.contains("no silence 1"))
        #expect(try connection.query("SELECT id FROM silence") == [["2"]])
    }
}
