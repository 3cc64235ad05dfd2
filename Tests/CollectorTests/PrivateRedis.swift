import Collector
import Foundation

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
        // A port the kernel just handed out and took back is free for a moment.
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) == 0 && getsockname(probe, $0, &length) == 0 }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        close(probe)
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
