import ArgumentParser

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
        subcommands: [ServeCommand.self, MigrateCommand.self, AppCommand.self, SendCommand.self, RunCommand.self, LoadCommand.self, InspectCommand.self]
    )
}

/// The version printed by `heartbeat --version`.
enum HeartbeatVersion {
    static let current = "0.1.0 (wire format v1)"
}
