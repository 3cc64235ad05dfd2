import ArgumentParser
import ClientKit
import Foundation
import Protocol

/// `heartbeat send`: one record, for shell scripts.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one heartbeat record.",
        discussion: """
            Exits 0 once the record is handed to the network, even if no collector is listening \
            (heartbeats are fire-and-forget; a warning goes to standard error when it could not \
            be sent). Exits 2 when the arguments are wrong.
            """
    )

    @OptionGroup var sender: SenderOptions

    @Option(help: "The record's kind: beat, start, success, fail or stop.")
    var kind: String = "beat"

    /// Parsed unconditionally, so a negative status works as `--status -1` (not only `--status=-1`).
    @Option(
        parsing: .unconditional, help: "The record's status: an exit code for success/fail, anything for the others (-2147483648 to 2147483647).",
        transform: { try IntegerArgument.parse($0, option: "--status") })
    var status: Int32 = 0

    @Option(
        name: .customLong("interval-ms"), help: "Milliseconds until the next record is due (0: the registry's interval; at most 4294967295).",
        transform: { try IntegerArgument.parse($0, option: "--interval-ms") })
    var intervalMillis: UInt32 = 0

    func run() throws {
        let (client, recordKind) = try exitingOnUsageError { () throws -> (HeartbeatClient, RecordKind) in
            guard let recordKind = RecordKind(name: kind) else {
                throw UsageError("--kind: '\(kind)' is not one of beat, start, success, fail, stop")
            }
            let client = HeartbeatClient(
                endpoint: try sender.resolvedEndpoint(), application: try sender.resolvedApplication(),
                secret: try sender.resolvedSecret(), intervalMillis: intervalMillis)
            return (client, recordKind)
        }
        _ = client.waitUntilResolved(timeoutMillis: 5_000)
        client.send(recordKind, status: status)
        let statistics = client.statistics
        if statistics.recordsSent != 1 {
            FileHandle.standardError.write(Data(
                "warning: the record was not sent to \(client.endpoint) (\(statistics); errno \(statistics.lastErrorNumber))\n".utf8))
        }
    }
}
