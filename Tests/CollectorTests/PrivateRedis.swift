import Collector
import Foundation
import HeartbeatTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A Redis server of a test's own, on a free loopback port, that the test may stop and start again
/// (the shared test Redis must stay up for the other suites).
final class PrivateRedis {
    let port: Int
    let directory: String
    private var process: Process?

    /// The password the server requires (`--requirepass`), if any.
    let password: String?

    var url: String { "redis://" + (password.map { ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)@" } ?? "") + "127.0.0.1:\(port)" }

    init(password: String? = nil) throws {
        self.password = password
        port = freeTCPPort()
        directory = NSTemporaryDirectory() + "heartbeat-redis-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start()
    }

    /// Starts the server and waits until it answers PING.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--logfile", ""]
            + (password.map { ["--requirepass", $0] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let connection = try? RedisConnection(url: url), (try? connection.command(["PING"])) == .status("PONG") { return }
            usleep(50_000)
        }
        throw RedisError(operation: "start test redis", message: "no answer on port \(port)")
    }

    /// Stops the server (its data is gone: it never saves).
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
