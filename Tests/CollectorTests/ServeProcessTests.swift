import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `heartbeat serve` as a process: start-up checks and a SIGTERM under load.
@Suite("heartbeat serve (process)", .serialized)
struct ServeProcessTests {
    /// The test process's environment with a Redis key prefix of its own: `scripts/test` exports
    /// the shared throwaway Redis, and collectors under one prefix share one monitor lease — two
    /// tests' collectors running in parallel would otherwise take turns leading, and the one that
    /// follows records no transitions of its own applications.
    static func isolatedEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HEARTBEAT_REDIS_PREFIX"] = "serve-test-\(UUID().uuidString)"
        return environment
    }

    /// A free UDP port on 127.0.0.1.
    func freePort() -> UInt16 { UDPReceiver().port }

    /// `heartbeat serve` with `arguments`, started and past its start-up line: the process, its
    /// standard error (to read on) and what it printed so far.
    func startServe(_ arguments: [String]) throws -> (process: Process, errors: Pipe, output: String) {
        let serve = Process()
        serve.executableURL = heartbeatExecutable()
        serve.arguments = ["serve"] + arguments
        serve.environment = Self.isolatedEnvironment()
        let errors = Pipe()
        serve.standardError = errors
        try serve.run()
        var output = ""
        while !output.contains("heartbeat collector:") {
            let chunk = errors.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            output += String(decoding: chunk, as: UTF8.self)
        }
        return (serve, errors, output)
    }

    @Test("SIGTERM under load: exit 0, and every accepted record is in PostgreSQL")
    func sigtermUnderLoad() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        // Register the applications `heartbeat load --seed 5` speaks for.
        let apps = try runProcess(heartbeatExecutable(), ["load", "--apps", "200", "--seed", "5", "--print-apps"])
        let values = apps.standardOutput.split(separator: "\n").map { "('\($0)', 'load')" }.joined(separator: ",")
        try connection.query("INSERT INTO application (uuid, name) VALUES \(values)")

        let port = freePort()
        let spool = NSTemporaryDirectory() + "heartbeat-serve-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let snapshotFile = spool + ".snapshot.json"
        defer { try? FileManager.default.removeItem(atPath: snapshotFile) }
        let (serve, errors, started) = try startServe(
            ["--udp", "127.0.0.1:\(port)", "--http", "127.0.0.1:0", "--database-url", database.url, "--spool-dir", spool, "--status-interval-s", "0",
             "--snapshot-file", snapshotFile])
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        var output = started
        #expect(output.contains("heartbeat collector:"), "\(output)")
        func snapshotDocument() -> [String: Any] {
            (FileManager.default.contents(atPath: snapshotFile).flatMap { try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any] ?? [:]
        }
        let running = snapshotDocument()
        #expect(running["state"] as? String == "running", "the snapshot file is written once the collector listens")
        #expect((running["http_port"] as? Int ?? 0) > 0)
        #expect((running["collector"] as? [String: Any])?["udp_port"] as? Int == Int(port))

        let load = Process()
        load.executableURL = heartbeatExecutable()
        load.arguments = ["load", "--apps", "200", "--seed", "5", "--endpoint", "127.0.0.1:\(port)", "--rate", "50000", "--duration", "3", "--quiet"]
        load.standardOutput = Pipe()
        try load.run()
        usleep(1_500_000)
        kill(serve.processIdentifier, SIGTERM)  // mid-load
        serve.waitUntilExit()
        load.waitUntilExit()
        output += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(serve.terminationStatus == 0, "\(output)")
        // A normal SIGTERM is not an error: no swift-log error line, no "error:" line.
        let errorLines = output.split(separator: "\n").filter { $0.hasPrefix("error:") || $0.contains(" error heartbeat") }
        #expect(errorLines.isEmpty, "\(errorLines)")
        let final = try #require(output.split(separator: "\n").first { $0.hasPrefix("final: ") })
        func field(_ name: String) -> UInt64? {
            final.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { UInt64($0.dropFirst(name.count + 1)) }
        }
        let accepted = try #require(field("accepted"))
        #expect(accepted > 10_000, "\(final)")
        // Stored at once, or spooled (PostgreSQL slower than the load) and replayed before the exit:
        // either way in PostgreSQL, and the count below says so.
        #expect((field("stored") ?? 0) + (field("replayed") ?? 0) == accepted && field("spooled") == field("replayed"), "\(final)")
        #expect(!output.contains("do not balance"))
        #expect(try connection.query("SELECT count(*) FROM heartbeat_event") == [[String(accepted)]])
        // The snapshot file holds the same final totals, for scripts that do not read log lines.
        let stopped = snapshotDocument()
        #expect(stopped["state"] as? String == "stopped")
        let ingest = (stopped["collector"] as? [String: Any])?["ingest"] as? [String: Any] ?? [:]
        #expect((ingest["accepted"] as? NSNumber)?.uint64Value == accepted)
        let replayed = (ingest["replayed"] as? NSNumber)?.uint64Value ?? 0
        #expect((ingest["stored"] as? NSNumber).map { $0.uint64Value + replayed } == accepted)
        #expect(ingest["balanced"] as? Bool == true)
        #expect(ingest["in_flight"] as? Int == 0)
    }

    @Test("a UDP port held by another process is refused with a message that says why")
    func portInUse() throws {
        let holder = UDPReceiver()
        let result = try runProcess(
            heartbeatExecutable(),
            ["serve", "--udp", "127.0.0.1:\(holder.port)", "--http", "127.0.0.1:0", "--database-url", try serviceURL("HEARTBEAT_DATABASE_URL"), "--status-interval-s", "0"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("is not free"), "\(result.standardError)")
    }

    @Test("bad settings exit 2 naming the setting and the accepted range")
    func badSettings() throws {
        let result = try runProcess(heartbeatExecutable(), ["serve", "--database-url", "postgresql://x@127.0.0.1:1/x", "--batch-rows", "0"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("--batch-rows: 0 is not accepted; expected 1 to 1000000"), "\(result.standardError)")
        let threads = try runProcess(heartbeatExecutable(), ["serve", "--database-url", "postgresql://x@127.0.0.1:1/x", "--http-threads", "65"])
        #expect(threads.status == 2)
        #expect(threads.standardError.contains("--http-threads: 65 is not accepted; expected 1 to 64 threads"), "\(threads.standardError)")
    }

    @Test("tokens come from files (trailing newline ignored); a value and a file for one setting exit 2")
    func tokenFiles() throws {
        let database = try TestDatabase()
        try Migrator().migrate(try database.connect())
        let directory = NSTemporaryDirectory() + "heartbeat-tokens-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let adminFile = directory + "/admin", readFile = directory + "/read"
        try "admin-token-from-a-file-0123\n".write(toFile: adminFile, atomically: true, encoding: .utf8)
        try "read-token-from-a-file-01234\n".write(toFile: readFile, atomically: true, encoding: .utf8)

        let conflict = try runProcess(
            heartbeatExecutable(), ["serve", "--database-url", database.url, "--admin-token", "x-0123456789abcdef", "--admin-token-file", adminFile])
        #expect(conflict.status == 2)
        #expect(conflict.standardError.contains("--admin-token and --admin-token-file"), "\(conflict.standardError)")
        let missing = try runProcess(heartbeatExecutable(), ["serve", "--database-url", database.url, "--read-token-file", directory + "/nothing"])
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("cannot read"), "\(missing.standardError)")

        let (serve, _, output) = try startServe(
            ["--udp", "127.0.0.1:\(freePort())", "--http", "127.0.0.1:0", "--database-url", database.url, "--spool-dir", directory + "/spool",
             "--status-interval-s", "0", "--admin-token-file", adminFile, "--read-token-file", readFile])
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let port = try #require(output.firstMatch(of: /HTTP [\d.]+:(\d+),/).flatMap { Int($0.1) }, "\(output)")
        #expect(try httpRequest(port: port, "/v1/summary").status == 401)
        #expect(try httpRequest(port: port, "/v1/summary", headers: ["Authorization": "Bearer read-token-from-a-file-01234"]).status == 200)
        let created = try httpRequest(
            port: port, "/v1/apps", method: "POST", headers: ["Authorization": "Bearer admin-token-from-a-file-0123", "Content-Type": "application/json"],
            body: Array(#"{"name":"from a file"}"#.utf8))
        #expect(created.status == 201, "\(created.text)")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }

    @Test("SIGSTOP for 5× the interval, then SIGCONT: no application that kept sending is marked late or down")
    func stallGuard() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let apps = try runProcess(heartbeatExecutable(), ["load", "--apps", "50", "--seed", "9", "--print-apps"])
        let values = apps.standardOutput.split(separator: "\n").map { "('\($0)', 'stall', 1000, 1000)" }.joined(separator: ",")
        try connection.query("INSERT INTO application (uuid, name, interval_ms, grace_ms) VALUES \(values)")

        let port = freePort()
        let spool = NSTemporaryDirectory() + "heartbeat-stall-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let serve = Process()
        serve.executableURL = heartbeatExecutable()
        serve.arguments = ["serve", "--udp", "127.0.0.1:\(port)", "--http", "127.0.0.1:0", "--database-url", database.url, "--spool-dir", spool,
                           "--status-interval-s", "0", "--check-period-ms", "200"]
        serve.environment = Self.isolatedEnvironment()
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        // Every application beats ten times a second for up to 20 s (stopped when the test ends).
        let load = Process()
        load.executableURL = heartbeatExecutable()
        load.arguments = ["load", "--apps", "50", "--seed", "9", "--endpoint", "127.0.0.1:\(port)", "--rate", "500",
                          "--duration", "20", "--records-per-datagram", "1", "--quiet"]
        load.standardOutput = FileHandle.nullDevice
        try load.run()
        defer { if load.isRunning { kill(load.processIdentifier, SIGKILL) } }
        func count(_ status: String) throws -> Int {
            Int(try connection.query("SELECT count(*) FROM application WHERE status = '\(status)'")[0][0]!)!
        }
        /// Applications by status and rows stored so far, for the failure messages.
        func situation() throws -> String {
            let statuses = try connection.query("SELECT status || '=' || count(*) FROM application GROUP BY status ORDER BY 1")
            let rows = try connection.query("SELECT count(*) FROM heartbeat_event")[0][0] ?? "?"
            return statuses.map { $0[0] ?? "?" }.joined(separator: " ") + ", rows stored \(rows)"
        }
        // A precondition, not the subject: allow for a loaded machine (CI runs every suite at once).
        let deadline = Date().addingTimeInterval(10)
        while try count("up") < 50, Date() < deadline { usleep(50_000) }
        let beforeStall = try situation()
        #expect(try count("up") == 50, "\(beforeStall)")
        kill(serve.processIdentifier, SIGSTOP)
        usleep(5_000_000)  // five intervals
        kill(serve.processIdentifier, SIGCONT)
        usleep(2_500_000)  // a stall tick, a clean period, then sweeps: still beating, so still up
        let convictions = try connection.query("SELECT count(*) FROM status_change WHERE to_status IN ('late', 'down')")[0][0]
        #expect(convictions == "0")
        let afterStall = try situation()
        #expect(try count("up") == 50, "\(afterStall)")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }
}
