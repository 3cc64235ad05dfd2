import ArgumentParser
import Collector
import Foundation

/// `heartbeat channel add|list|test|rm`: notification channels, straight in the database (like
/// `heartbeat app`); running collectors deliver to a new channel from the next transition.
struct ChannelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel",
        abstract: "Add, list, test and remove notification channels (Spec/notifications.md).",
        discussion: """
            Kinds: \(NotificationKinds.all.map { $0.name }.joined(separator: ", ")). Examples:
              heartbeat channel add ops-chat --kind slack --setting url=https://hooks.slack.com/services/…
              heartbeat channel add payments-pager --kind pagerduty --secret-file key.txt --label team=payments --event down --event up
              heartbeat channel add alerts --kind alertmanager --setting url=http://127.0.0.1:9093
            """,
        subcommands: [Add.self, List.self, Test.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a channel; prints it (its secret is never shown).")
        @OptionGroup var database: AppCommand.DatabaseOption
        @Argument(help: "A name for people (unique).") var name: String
        @Option(help: "The kind: \(NotificationKinds.all.map { $0.name }.joined(separator: ", ")).") var kind: String
        @Option(help: "A setting KEY=VALUE of the kind (repeat): url=…, smtp_url=…, from=…, to=…") var setting: [String] = []
        @Option(help: "Read the channel's secret (signing key, password, routing key) from this file (trailing newline ignored).") var secretFile: String?
        @Option(help: "Only applications with this label KEY=VALUE (repeat: all must match).") var label: [String] = []
        @Option(help: "Only this event (repeat): new, up, late, down, paused. Default: every event.") var event: [String] = []
        @Option(help: "Title template, e.g. \"{{name}} is {{status}}\".") var title: String?
        @Option(help: "Body template, e.g. \"{{name}}: {{previous}} → {{status}} ({{reason}}) {{url}}\".") var body: String?
        @Flag(help: "Create it disabled.") var disabled = false

        func run() throws {
            let secret = try secretFile.map { path -> String in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("--secret-file: cannot read \(path)") }
                return text.hasSuffix("\n") ? String(text.dropLast()) : text
            }
            let channel = NotificationChannel(
                kind: kind, name: name, settings: try keyValues(setting, option: "--setting"), secret: secret, enabled: !disabled,
                events: event.isEmpty ? nil : event, labelFilter: try keyValues(label, option: "--label"), titleTemplate: title, bodyTemplate: body)
            let connection = try database.connect()
            let stored = try store { try ChannelStore.create(channel, on: connection) }
            printChannel(stored)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List channels: id, kind, name, enabled, outcome counts, last error.")
        @OptionGroup var database: AppCommand.DatabaseOption

        func run() throws {
            let connection = try database.connect()
            for stored in try store({ try ChannelStore.list(on: connection) }) { printChannel(stored) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test notification to a channel now, from this machine; exits 1 with the error when the channel refuses it.")
        @OptionGroup var database: AppCommand.DatabaseOption
        @Argument(help: "The channel's id.") var id: Int
        @Option(help: "The collector's public URL, for {{url}}. Env: HEARTBEAT_PUBLIC_URL.") var publicURL: String?

        func run() throws {
            let connection = try database.connect()
            guard let stored = try store({ try ChannelStore.get(id, on: connection) }) else { fail("no channel \(id)") }
            if let failure = TestNotification.send(to: stored.channel, publicURL: publicURL ?? Environment.value("HEARTBEAT_PUBLIC_URL")) {
                fail("channel \(id) did not take the test notification: \(failure)")
            }
            print("delivered a test notification to channel \(id) (\(terminalSafe(stored.channel.name)))")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a channel and the deliveries it still owed.")
        @OptionGroup var database: AppCommand.DatabaseOption
        @Argument(help: "The channel's id.") var id: Int

        func run() throws {
            let connection = try database.connect()
            guard try store({ try ChannelStore.delete(id, on: connection) }) else { fail("no channel \(id)") }
            print("removed channel \(id)")
        }
    }
}

private func printChannel(_ stored: ChannelStore.Stored) {
    let channel = stored.channel
    print("id: \(channel.id)  kind: \(channel.kind)  name: \(terminalSafe(channel.name))  enabled: \(channel.enabled ? "yes" : "no")")
    let settings = channel.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\(terminalSafe($0.value))" }.joined(separator: " ")
    print("  settings: \(settings.isEmpty ? "-" : settings)  secret: \(channel.secret == nil ? "none" : "set")")
    let labels = channel.labelFilter.sorted { $0.key < $1.key }.map { "\($0.key)=\(terminalSafe($0.value))" }.joined(separator: " ")
    print("  events: \(channel.events?.joined(separator: ",") ?? "all")  labels: \(labels.isEmpty ? "any" : labels)")
    print("  delivered: \(stored.delivered)  failed: \(stored.failed)  abandoned: \(stored.abandoned)  last_error: \(stored.lastError.map(terminalSafe) ?? "-")")
}
