import ArgumentParser
import Foundation

/// The `heartbeat` command: one executable for the collector, its administration and senders.
@main
struct Heartbeat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeat",
        abstract: "Heartbeat: a UDP heartbeat collector and its tools.",
        discussion: """
            Applications prove they are alive by sending 64-byte heartbeat records over UDP \
            (wire format v1, see Spec/protocol.md). `heartbeat serve` runs the collector, which \
            stores every accepted record in PostgreSQL; `send`, `run` and `load` send records; \
            `inspect` decodes them. Options that configure a deployment also read environment \
            variables; each command's --help names them.
            """,
        version: HeartbeatVersion.current,
        subcommands: [ServeCommand.self, MigrateCommand.self, AppCommand.self, ChannelCommand.self, SilenceCommand.self, SendCommand.self, RunCommand.self, LoadCommand.self, InspectCommand.self]
    )

    /// Runs the command line; a usage mistake exits 2, as every command's help says (the argument
    /// parser's own code for it is 64, EX_USAGE, which scripts written against `--help` do not expect).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// The version printed by `heartbeat --version`.
enum HeartbeatVersion {
    static let current = "0.1.0 (wire format v1)"
}
