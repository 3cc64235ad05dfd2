import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A server a test starts (Alertmanager, an SMTP server) and stops by its own PID: terminated, then
/// waited for. Its output goes to a file beside its data, for a failing test to show.
public final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    public let logPath: String

    public init(_ executable: String, _ arguments: [String], logPath: String) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    public var isRunning: Bool { process.isRunning }

    /// What it wrote so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, and SIGKILL when it has not exited 5 s later (a child can inherit a signal mask
    /// that blocks SIGTERM from the test process).
    public func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
public func freeTCPPort() -> Int {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A listener that completes TCP handshakes and never answers: a receiver that hangs until the
/// sender's timeout.
public final class SilentListener: @unchecked Sendable {
    private let listener: Int32
    public let port: Int

    public init() {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 64) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func stop() { close(listener) }
}

/// Waits until `condition` holds or `seconds` pass; returns whether it held.
@discardableResult
public func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}
