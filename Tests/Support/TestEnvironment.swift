import Foundation

/// The repository's root, found from this file's path.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// A seed for a property test: `HEARTBEAT_TEST_SEED` when set (to replay a failure), else random.
public func propertySeed() -> UInt64 {
    if let text = ProcessInfo.processInfo.environment["HEARTBEAT_TEST_SEED"], let seed = UInt64(text) {
        return seed
    }
    return UInt64.random(in: .min ... .max)
}

/// Bytes of an even-length hex string (test input is trusted).
public func bytes(hex: String) -> [UInt8] {
    var result = [UInt8]()
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// Lowercase hex of `bytes`.
public func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The `heartbeat` executable built next to the test bundle (`swift build` puts both in the same
/// directory, whatever the scratch path).
public func heartbeatExecutable() -> URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    if directory.lastPathComponent == "MacOS" || directory.path.contains(".xctest") {
        while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
    }
    return directory.appendingPathComponent("heartbeat")
}

/// The outcome of running a process to its end.
public struct ProcessResult {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String
}

/// Runs `executable` with `arguments` and `environment` added to this process's, and waits.
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
        standardError: String(decoding: errorData, as: UTF8.self))
}
