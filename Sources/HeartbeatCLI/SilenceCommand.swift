import ArgumentParser
import Collector
import Foundation

/// `heartbeat silence add|list|rm`: maintenance windows, straight in the database (like `heartbeat
/// app`); running collectors hold them from their next registry poll.
struct SilenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Add, list and remove silences (maintenance windows; Spec/liveness.md).",
        discussion: """
            While a silence covers an application, its transitions are recorded (marked silenced) and \
            their notifications held; when it ends, an application still down or late is notified once.
              heartbeat silence add --all --until 2026-12-06T04:00:00Z --comment "database upgrade"
              heartbeat silence add --label team=payments --cron "0 2 * * 0" --duration-ms 7200000 --time-zone Europe/Berlin
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a silence; prints it.")
        @OptionGroup var database: AppCommand.DatabaseOption
        @Flag(help: "Cover every application.") var all = false
        @Option(help: "Cover this application UUID (repeat for several).") var app: [String] = []
        @Option(help: "Cover applications with this label KEY=VALUE (repeat: all must match).") var label: [String] = []
        @Option(help: "Cover applications whose name starts with this.") var namePrefix: String?
        @Option(help: "Start, RFC 3339 (default: now).") var from: String?
        @Option(help: "End, RFC 3339 (a one-off window).") var until: String?
        @Option(help: "Start each occurrence at this cron expression's fire times instead (with --duration-ms).") var cron: String?
        @Option(help: "How long each occurrence of --cron lasts, ms (a minute to a week).") var durationMs: Int64?
        @Option(help: "The IANA time zone of --cron (default UTC).") var timeZone: String?
        @Option(help: "Why (shown in the API and listings).") var comment = ""

        func run() throws {
            var request = SilenceRequest()
            request.all = all
            request.apps = app.isEmpty ? nil : app
            request.labels = label.isEmpty ? nil : try keyValues(label, option: "--label")
            request.namePrefix = namePrefix
            request.fromMicros = try from.map { try Self.time($0, "--from") }
            request.untilMicros = try until.map { try Self.time($0, "--until") }
            request.cron = cron
            request.durationMillis = durationMs
            request.timeZone = timeZone
            request.comment = comment
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            let connection = try database.connect()
            let stored = try store {
                try SilenceStore.create(try request.silence(nowMicros: now), nowMicros: now, on: connection)
            }
            printSilence(stored, nowMicros: now)
        }

        static func time(_ text: String, _ option: String) throws -> Int64 {
            let formatter = ISO8601DateFormatter()
            for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
                formatter.formatOptions = options
                if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
            }
            throw ValidationError("\(option): \(text) is not an RFC 3339 time such as 2026-12-06T02:00:00Z")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List silences: id, whether in force, what and when they cover, the comment.")
        @OptionGroup var database: AppCommand.DatabaseOption

        func run() throws {
            let connection = try database.connect()
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            for silence in try store({ try SilenceStore.list(on: connection) }) { printSilence(silence, nowMicros: now) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a silence (it ends at once).")
        @OptionGroup var database: AppCommand.DatabaseOption
        @Argument(help: "The silence's id.") var id: Int

        func run() throws {
            let connection = try database.connect()
            guard try store({ try SilenceStore.delete(id, on: connection) }) else { fail("no silence \(id)") }
            print("removed silence \(id)")
        }
    }
}

/// One silence, on one line: `<id> <active|inactive> <selector> <window> <comment>`.
private func printSilence(_ silence: Silence, nowMicros: Int64) {
    let selector = switch silence.selector {
    case .all: "all applications"
    case .applications(let uuids): "apps " + uuids.map(\.description).sorted().joined(separator: ",")
    case .labels(let labels): "labels " + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    case .namePrefix(let prefix): "names starting \"\(prefix)\""
    }
    let window = switch silence.window {
    case .between(let from, let until): "from \(iso(from)) until \(iso(until))"
    case .recurring(let schedule, let duration): "\(schedule.expression.text) in \(schedule.zone.identifier) for \(duration / 1_000) ms (\(schedule.words))"
    }
    let state = silence.occurrence(atMicros: nowMicros).map { "active until \(iso($0.endMicros))" } ?? "inactive"
    print(terminalSafe("\(silence.id)  \(state)  \(selector)  \(window)" + (silence.comment.isEmpty ? "" : "  # \(silence.comment)")))
}
