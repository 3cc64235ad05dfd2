import ArgumentParser
import Collector
import Foundation
import Protocol

/// `heartbeat app …`: manage registered applications from a shell, straight against PostgreSQL
/// (the same SQL as the sidecar's management API, `ApplicationStore`).
struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Register, list, show, remove, pause and resume applications.",
        discussion: """
            Works directly on the database (--database-url or HEARTBEAT_DATABASE_URL), like the \
            sidecar's /v1/apps API; running collectors pick changes up within a second. A pause or \
            resume is recorded as a transition (status_change) and queued for the notification \
            channels that take it (heartbeat channel list); its Redis publication is done only by the API.
            """,
        subcommands: [Add.self, List.self, Show.self, SetNoise.self, Remove.self, Pause.self, Resume.self]
    )

    /// The database option every subcommand takes.
    struct DatabaseOption: ParsableArguments {
        @Option(help: ArgumentHelp("libpq connection URL. Env: HEARTBEAT_DATABASE_URL.", valueName: "postgresql://user@host:port/db"))
        var databaseURL: String?

        func connect() throws -> PostgresConnection {
            guard let url = databaseURL ?? Environment.value("HEARTBEAT_DATABASE_URL") else {
                usage("no database: pass --database-url or set HEARTBEAT_DATABASE_URL")
            }
            do throws(PostgresError) {
                return try PostgresConnection(url: url)
            } catch {
                fail("\(error)")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an application; prints it, a curl line that pings it, and with --signed its secret and ping key (once).",
            discussion: "With -q, prints only its UUID (and, with --signed, the secret and the ping key on the next lines): `uuid=$(heartbeat app add -q nightly-backup)`.")
        @OptionGroup var database: DatabaseOption
        @Argument(help: "A name for people: 1-200 characters (code points), no control characters or bidirectional overrides.") var name: String
        @Option(help: "Longest silence before it is late, ms (default 60000; not with --cron).") var intervalMs: Int?
        @Option(help: "Expect a record at each fire time of this cron expression instead (five fields or @daily etc.; Spec/schedules.md).") var cron: String?
        @Option(help: "The IANA time zone of --cron (default UTC), e.g. Europe/Berlin.") var timeZone: String?
        @Option(help: "Extra time after the interval (or fire time) before it is late/down, ms.") var graceMs = 30_000
        @Option(help: "Longest run (start … success/fail), ms; none by default.") var maxRunMs: Int?
        @Option(help: "A label KEY=VALUE for routing notifications (repeat for several; keys [A-Za-z_][A-Za-z0-9_]*).") var label: [String] = []
        @OptionGroup var noise: NoiseOptions
        @Flag(help: "Give it a secret: its records must then carry a valid HMAC tag.") var signed = false
        @Flag(name: [.customShort("q"), .long], help: "Print only the UUID (and the secret and ping key, with --signed, on the next lines).") var quiet = false
        @Option(help: "The collector's HTTP address as the job reaches it, for the printed curl line. Env: HEARTBEAT_PUBLIC_URL. Default: http://127.0.0.1:7412.")
        var publicURL: String?

        func run() throws {
            if timeZone != nil, cron == nil { throw ValidationError("--time-zone goes with --cron") }
            if intervalMs != nil, cron != nil { throw ValidationError("--interval-ms and --cron: an application has one or the other") }
            let schedule = cron.map { ScheduleSpec(cron: $0, timeZone: timeZone ?? "UTC") }
            let labels = try keyValues(label, option: "--label")
            let connection = try database.connect()
            let (record, secret) = try store {
                try ApplicationStore.create(
                    name: name, intervalMillis: intervalMs, schedule: schedule, graceMillis: graceMs, maxRunMillis: maxRunMs, signed: signed,
                    labels: labels,
                    noise: NoiseSettings(
                        downAfter: noise.downAfter ?? 1, upAfter: noise.upAfter ?? 1, remindEveryMillis: noise.remindEveryMs,
                        minInstances: noise.minInstances ?? 1),
                    on: connection)
            }
            let pingKey = secret.map(PingKey.hex(for:))
            if quiet {
                print(record.uuid)
                if let secret, let pingKey { print(secret.hexString + "\n" + pingKey) }
                return
            }
            printRecord(record)
            if let secret, let pingKey {
                print("secret: \(secret.hexString)   (shown once: keep it with the application)")
                print("ping key: \(pingKey)   (for HTTP pings; derived from the secret)")
            }
            let base = publicURL ?? Environment.value("HEARTBEAT_PUBLIC_URL") ?? "http://127.0.0.1:7412"
            print("ping it: " + Self.curlLine(base: base, uuid: record.uuid, pingKey: pingKey))
        }

        /// A ready-to-paste curl line that pings the application (`Spec/http-ping.md`).
        static func curlLine(base: String, uuid: String, pingKey: String?) -> String {
            let header = pingKey.map { " -H 'Authorization: Bearer \($0)'" } ?? ""
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            return "curl -fsS -m 10 --retry 3\(header) \(trimmed)/ping/\(uuid)"
        }
    }

    /// The noise controls `add` and `set` take (Spec/liveness.md, "Thresholds", "Instance quorum").
    struct NoiseOptions: ParsableArguments {
        @Option(help: "Consecutive missed deadlines (or fail records) before it is down (1-1000; default 1). Late shows at the first.")
        var downAfter: Int?
        @Option(help: "Consecutive on-time records before a down application is up again (1-1000; default 1).") var upAfter: Int?
        @Option(help: "While down, notify again every this many ms (0: never; default: the collector's --remind-every).")
        var remindEveryMs: Int?
        @Option(help: "Distinct instances that must report for it to be up; with fewer, but some, it is short (1-1000; default 1).")
        var minInstances: Int?
    }

    struct SetNoise: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change an application's thresholds, instance quorum or reminder period; prints it.",
            discussion: "Like PATCH /v1/apps/{uuid}; options not given stay as they are.")
        @OptionGroup var database: DatabaseOption
        @Argument(help: "The application's UUID.") var uuid: String
        @OptionGroup var noise: NoiseOptions
        @Flag(help: "Follow the collector's --remind-every again (clears --remind-every-ms).") var remindDefault = false

        func run() throws {
            guard let parsed = ApplicationUUID(uuid) else { usage("\(uuid) is not a UUID") }
            if remindDefault, noise.remindEveryMs != nil { throw ValidationError("--remind-every-ms and --remind-default: one or the other") }
            let changes = ApplicationStore.Changes(
                downAfter: noise.downAfter, upAfter: noise.upAfter,
                remindEveryMillis: remindDefault ? .some(nil) : noise.remindEveryMs.map { .some($0) }, minInstances: noise.minInstances)
            let connection = try database.connect()
            let (record, _) = try store { try ApplicationStore.update(parsed, changes, on: connection) }
            printRecord(record)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List applications in id order: uuid, status, last heartbeat, name (under a header row).",
            discussion: "Statuses are as stored (the monitor's latest transition); a running collector's /v1/apps is current to its last sweep.")
        @OptionGroup var database: DatabaseOption
        @Option(help: "Only this status: new, up, late, down, paused or short.") var state: String?
        @Option(help: "Only names starting with this.") var prefix: String?
        @Flag(help: "Print a JSON array of applications, with the fields of GET /v1/apps (as stored).") var json = false

        func run() throws {
            var status: LivenessStatus?
            if let state {
                guard let parsed = LivenessStatus(label: state) else { usage("--state: \(state) is not one of \(LivenessStatus.allCases.map(\.description).joined(separator: ", "))") }
                status = parsed
            }
            let connection = try database.connect()
            var after = 0
            var listed = 0
            // Page by page, so a million applications never sit in memory at once.
            while true {
                let page = try store { try ApplicationStore.list(status: status, namePrefix: prefix, afterID: after, limit: 1_000, on: connection) }
                if after == 0 { print(json ? "[" : row("UUID", "STATUS", "LAST HEARTBEAT", "NAME"), terminator: "") }
                for record in page {
                    if json {
                        print(listed == 0 ? "\n" : ",\n", terminator: "")
                        print(String(decoding: try JSONSerialization.data(withJSONObject: jsonObject(record), options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self), terminator: "")
                    } else {
                        print(row(record.uuid, record.status, lastHeartbeat(record), terminalSafe(record.name)), terminator: "")
                    }
                    listed += 1
                }
                guard let last = page.last, page.count == 1_000 else { break }
                after = last.id
            }
            if json { print(listed == 0 ? "]" : "\n]") }
        }

        /// One line of the table: columns padded to a UUID's width, the longest status and an RFC 3339 time.
        private func row(_ uuid: String, _ status: String, _ lastHeartbeat: String, _ name: String) -> String {
            "\(uuid.padding(toLength: 36, withPad: " ", startingAt: 0))  \(status.padding(toLength: 6, withPad: " ", startingAt: 0))  "
                + "\(lastHeartbeat.padding(toLength: 27, withPad: " ", startingAt: 0))  \(name)\n"
        }

        /// The application as GET /v1/apps writes it (snake_case, RFC 3339 times, nulls kept).
        private func jsonObject(_ record: ApplicationRecord) -> [String: Any] {
            func time(_ micros: Int64?) -> Any { micros.map(iso) ?? NSNull() }
            return [
                "uuid": record.uuid, "name": record.name, "status": record.status, "interval_ms": record.intervalMillis.map { $0 as Any } ?? NSNull(),
                "schedule": record.schedule.map { schedule -> Any in
                    var object: [String: Any] = ["cron": schedule.cron, "time_zone": schedule.timeZone]
                    if let parsed = schedule.cached { object["description"] = parsed.words }
                    return object
                } ?? NSNull(), "grace_ms": record.graceMillis,
                "max_run_ms": record.maxRunMillis.map { $0 as Any } ?? NSNull(), "signed": record.signed, "enabled": record.enabled,
                "last_heartbeat": time(record.lastHeartbeatMicros), "last_run_ms": record.lastRunMillis.map { $0 as Any } ?? NSNull(),
                "last_run_at": time(record.lastRunAtMicros), "created_at": time(record.createdAtMicros), "labels": record.labels,
                "down_after": record.noise.downAfter, "up_after": record.noise.upAfter, "min_instances": record.noise.minInstances,
                "remind_every_ms": record.noise.remindEveryMillis.map { $0 as Any } ?? NSNull(),
            ]
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one application: its uptime over 30 days, badge path and latest transitions.")
        @OptionGroup var database: DatabaseOption
        @Argument(help: "The application's UUID.") var uuid: String

        func run() throws {
            let connection = try database.connect()
            let id = try applicationUUID(uuid)
            guard let record = try store({ try ApplicationStore.get(id, on: connection) }) else { fail("no application \(uuid)") }
            printRecord(record)
            print("records lost (last hour): \(try store { try ApplicationStore.recordsLostLastHour(applicationID: record.id, on: connection) })")
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000), month: Int64 = 30 * 86_400_000_000
            let history = try store { try ApplicationStore.statusHistory(applicationID: record.id, fromMicros: now - month, toMicros: now, on: connection) }
            let uptime = Uptime.over(fromMicros: now - month, toMicros: now, statusAtStart: history.statusAtStart, changes: history.changes)
            print("uptime (last 30 days): \(uptime.ratio.map { String(format: "%.3f%%", $0 * 100) } ?? "none yet (nothing counted)")")
            if let key = try store({ try BadgeKeys.key(of: id, on: connection) }) { print("badge: /badge/\(key).svg  (public: shows its state and nothing else)") }
            for transition in try store({ try ApplicationStore.transitions(id, limit: 10, on: connection) }) ?? [] {
                print("transition: \(iso(transition.atMicros))  \(terminalSafe(transition.from)) -> \(terminalSafe(transition.to))  (\(terminalSafe(transition.reason)))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete an application (and its transitions).")
        @OptionGroup var database: DatabaseOption
        @Argument(help: "The application's UUID.") var uuid: String

        func run() throws {
            let connection = try database.connect()
            let id = try applicationUUID(uuid)
            guard try store({ try ApplicationStore.delete(id, on: connection) }) else { fail("no application \(uuid)") }
            print("deleted \(uuid)")
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause an application: no alerts until its next record.")
        @OptionGroup var database: DatabaseOption
        @Argument(help: "The application's UUID.") var uuid: String

        func run() throws { try setPaused(true, uuid, database) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undo a pause: the application waits for its next record (status new).")
        @OptionGroup var database: DatabaseOption
        @Argument(help: "The application's UUID.") var uuid: String

        func run() throws { try setPaused(false, uuid, database) }
    }
}

private func setPaused(_ paused: Bool, _ uuid: String, _ database: AppCommand.DatabaseOption) throws {
    let connection = try database.connect()
    let id = try applicationUUID(uuid)
    let (record, notification) = try store { try ApplicationStore.setOperatorStatus(id, paused: paused, on: connection) }
    printRecord(record)
    if notification == nil { print("(unchanged: it was \(record.status))") }
}

private func applicationUUID(_ text: String) throws -> ApplicationUUID {
    guard let uuid = ApplicationUUID(text) else { usage("not an application UUID: \(text)") }
    return uuid
}

/// A command-line mistake: the message on standard error, exit status 2 (as ``UsageError``).
func usage(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(2)
}

/// Runs a store operation; a failure is printed and exits 1 (not found, invalid value, database).
/// A database without the schema (or with an older one) gets the command that fixes it rather
/// than PostgreSQL's message and caret block.
func store<Result>(_ body: () throws -> Result) throws -> Result {
    do {
        return try body()
    } catch StoreError.database(let failure) where failure.sqlState == "42P01" {
        fail("this database has no Heartbeat schema yet: run `heartbeat migrate` (with the same --database-url) first")
    } catch StoreError.database(let failure) where failure.sqlState == "42703" {
        fail("this database's Heartbeat schema is older than this program: run `heartbeat migrate` (with the same --database-url)")
    } catch StoreError.database(let failure) {
        fail("PostgreSQL \(failure.operation) failed: \(failure.message.split(separator: "\n").first.map(String.init) ?? failure.message)")
    } catch {
        fail("\(error)")
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(1)
}

private func printRecord(_ record: ApplicationRecord) {
    print("uuid: \(record.uuid)")
    print("name: \(terminalSafe(record.name))")
    print("status: \(record.status)")
    if let schedule = record.schedule {
        let words = schedule.cached?.words ?? schedule.cron
        print("schedule: \(terminalSafe(schedule.cron)) in \(terminalSafe(schedule.timeZone)) (\(terminalSafe(words)))")
    } else {
        print("interval_ms: \(record.intervalMillis ?? 0)", terminator: "  ")
    }
    print("grace_ms: \(record.graceMillis)  max_run_ms: \(record.maxRunMillis.map(String.init) ?? "none")")
    let remind = record.noise.remindEveryMillis.map { $0 == 0 ? "never" : String($0) } ?? "default"
    print("down_after: \(record.noise.downAfter)  up_after: \(record.noise.upAfter)  remind_every_ms: \(remind)  min_instances: \(record.noise.minInstances)")
    print("signed: \(record.signed ? "yes" : "no")  enabled: \(record.enabled ? "yes" : "no")")
    print("last_heartbeat: \(lastHeartbeat(record))")
    if let run = record.lastRunMillis { print("last_run_ms: \(run)") }
    if !record.labels.isEmpty {
        print("labels: " + record.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\(terminalSafe($0.value))" }.joined(separator: " "))
    }
}

/// `KEY=VALUE` arguments as a map; a missing `=` or a repeated key is a usage error.
func keyValues(_ arguments: [String], option: String) throws -> [String: String] {
    var map = [String: String]()
    for argument in arguments {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
            throw ValidationError("\(option) \(argument): write KEY=VALUE")
        }
        let key = String(argument[..<equals])
        guard map[key] == nil else { throw ValidationError("\(option): \(key) is given twice") }
        map[key] = String(argument[argument.index(after: equals)...])
    }
    return map
}

/// `text` with every control character (C0, DEL, C1) and bidirectional override or isolate written
/// as `\u{XXXX}`: a name stored before names were checked (or written straight into the database)
/// can neither move the cursor, clear the screen nor reorder what is printed after it.
func terminalSafe(_ text: String) -> String {
    var output = ""
    for scalar in text.unicodeScalars {
        if ApplicationStore.unsafeKind(of: scalar) != nil {
            output += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        } else {
            output.unicodeScalars.append(scalar)
        }
    }
    return output
}

private func lastHeartbeat(_ record: ApplicationRecord) -> String {
    record.lastHeartbeatMicros.map(iso) ?? "never"
}

func iso(_ micros: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1e6))
}
