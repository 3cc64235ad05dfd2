import Foundation
import Protocol
import ThreadSafety

/// One registered application as the status API and `heartbeat app` show it.
public struct ApplicationRecord: Sendable, Equatable {
    public let id: Int
    public let uuid: String
    public let name: String
    public let status: String
    /// The promised interval; nil for an application on a schedule.
    public let intervalMillis: Int?
    /// The cron schedule it promises instead of an interval, or nil.
    public let schedule: ScheduleSpec?
    public let graceMillis: Int
    public let maxRunMillis: Int?
    public let signed: Bool
    public let enabled: Bool
    /// Unix µs, when known.
    public let lastHeartbeatMicros: Int64?
    public let lastRunMillis: Int64?
    public let lastRunAtMicros: Int64?
    public let createdAtMicros: Int64
    /// Its labels (``ApplicationLabels``).
    public var labels: [String: String] = [:]
    /// Its thresholds and reminder period.
    public var noise = NoiseSettings()
}

/// An application's noise controls as registered: `down_after`, `up_after` (Spec/liveness.md,
/// "Thresholds"), `min_instances` ("Instance quorum") and `remind_every_ms`
/// (Spec/notifications.md, "Reminders").
public struct NoiseSettings: Sendable, Equatable {
    /// Consecutive missed deadlines (or `fail` records) before `down`.
    public var downAfter: Int
    /// Consecutive on-time records before a `down` application is `up` again.
    public var upAfter: Int
    /// The reminder period while down, ms: nil follows the collector's `--remind-every`, 0 never.
    public var remindEveryMillis: Int?
    /// Distinct instances that must report for `up` (fewer, but some: `short`).
    public var minInstances: Int

    public init(downAfter: Int = 1, upAfter: Int = 1, remindEveryMillis: Int? = nil, minInstances: Int = 1) {
        self.downAfter = downAfter
        self.upAfter = upAfter
        self.remindEveryMillis = remindEveryMillis
        self.minInstances = minInstances
    }

    /// The values `min_instances` may take (the registry's CHECK).
    public static let minInstancesRange: ClosedRange<Int> = 1...1_000

    /// The shortest reminder period, ms (the schema's CHECK).
    public static let minimumRemindMillis = 1_000
}

/// A cron schedule as registered: the expression and its IANA time zone (`Spec/schedules.md`).
public struct ScheduleSpec: Sendable, Equatable, Hashable {
    public let cron: String
    public let timeZone: String

    public init(cron: String, timeZone: String) {
        self.cron = cron
        self.timeZone = timeZone
    }

    /// The schedule a registry row holds (`schedule_cron`, `schedule_time_zone`), or nil.
    init?(_ row: QueryRow) {
        guard let cron = row["schedule_cron"], let timeZone = row["schedule_time_zone"] else { return nil }
        self.init(cron: cron, timeZone: timeZone)
    }

    private static let parsedSchedules = Locked([ScheduleSpec: CronSchedule]())

    /// The parsed schedule, shared by every application with the same expression and zone (a
    /// million applications on `0 3 * * *` hold one); nil when it does not parse.
    public var cached: CronSchedule? {
        if let schedule = Self.parsedSchedules.withLock({ $0[self] }) { return schedule }
        guard case .success(let schedule) = parsed() else { return nil }
        Self.parsedSchedules.withLock { cache in
            if cache.count >= 100_000 { cache.removeAll() }  // distinct expressions are few; never unbounded
            cache[self] = schedule
        }
        return schedule
    }

    /// The parsed schedule, or why it is refused (field name, message) as the API reports it.
    public func parsed() -> Result<CronSchedule, StoreError> {
        guard let zone = ZoneRules.named(timeZone) else {
            return .failure(.invalid("schedule.time_zone", "\"\(timeZone)\" is not an IANA time zone (such as Europe/Berlin or UTC)"))
        }
        do {
            return .success(CronSchedule(expression: try CronExpression(cron), zone: zone))
        } catch {
            return .failure(.invalid("schedule.cron", error.description))
        }
    }
}

/// One stored heartbeat (`heartbeat_event`).
public struct StoredEvent: Sendable, Equatable {
    public let receivedAtMicros: Int64
    public let sentAtMicros: Int64
    public let instance: Int64
    public let sequence: Int64
    public let kind: String
    public let status: Int32

    public init(receivedAtMicros: Int64, sentAtMicros: Int64, instance: Int64, sequence: Int64, kind: String, status: Int32) {
        self.receivedAtMicros = receivedAtMicros
        self.sentAtMicros = sentAtMicros
        self.instance = instance
        self.sequence = sequence
        self.kind = kind
        self.status = status
    }
}

/// One recorded transition (`status_change`).
public struct StoredTransition: Sendable, Equatable {
    public let id: Int64
    public let atMicros: Int64
    public let from: String
    public let to: String
    public let reason: String
    public let runDurationMillis: Int64?
}

/// Why a store operation did not happen.
public enum StoreError: Error, CustomStringConvertible {
    case database(PostgresError)
    /// No application with that UUID.
    case notFound
    /// A value out of range (field, message).
    case invalid(String, String)
    /// The request conflicts with the application's state (what to do instead).
    case conflict(String)

    public var description: String {
        switch self {
        case .database(let error): "\(error)"
        case .notFound: "no such application"
        case .invalid(let field, let message): "\(field): \(message)"
        case .conflict(let message): message
        }
    }
}

/// The registry's management and read operations, in SQL, shared by the HTTP sidecar and the
/// `heartbeat app` commands. Every value travels as a libpq parameter (never spliced into the SQL
/// text, whatever the server's quoting settings), and rows are read by column name. Every write
/// that collectors load bumps the registry version through the schema's trigger; an operator's
/// pause or resume bumps it explicitly, so monitors adopt it. Each call runs on the connection it
/// is given (one thread at a time).
public enum ApplicationStore {
    /// What an application's JSON and list rows read, by these names.
    static let columns = """
        id, uuid::text AS uuid, name, status, interval_ms, schedule_cron, schedule_time_zone, grace_ms, max_run_ms, secret IS NOT NULL AS signed, is_active,
        down_after, up_after, remind_every_ms, min_instances, labels::text AS labels, (extract(epoch FROM last_heartbeat) * 1000000)::bigint AS last_heartbeat_us, last_run_ms,
        (extract(epoch FROM last_run_at) * 1000000)::bigint AS last_run_at_us,
        (extract(epoch FROM created_at) * 1000000)::bigint AS created_at_us
        """

    static func record(_ row: QueryRow) -> ApplicationRecord? {
        guard let id = row.int("id"), let uuid = row["uuid"], let name = row["name"], let status = row["status"],
            let grace = row.int("grace_ms"), let created = row.int64("created_at_us")
        else { return nil }
        let schedule = ScheduleSpec(row)
        return ApplicationRecord(
            id: id, uuid: uuid, name: name, status: status, intervalMillis: row.int("interval_ms"), schedule: schedule, graceMillis: grace,
            maxRunMillis: row.int("max_run_ms"), signed: row.bool("signed") ?? false, enabled: row.bool("is_active") ?? false,
            lastHeartbeatMicros: row.int64("last_heartbeat_us"), lastRunMillis: row.int64("last_run_ms"),
            lastRunAtMicros: row.int64("last_run_at_us"), createdAtMicros: created, labels: ApplicationLabels.decode(row["labels"]),
            noise: NoiseSettings(
                downAfter: row.int("down_after") ?? 1, upAfter: row.int("up_after") ?? 1, remindEveryMillis: row.int("remind_every_ms"),
                minInstances: row.int("min_instances") ?? 1))
    }

    /// The most code points a name may have: the schema's `length(name)` counts code points, so the
    /// check here counts the same unit (a name of 101 graphemes can hold 202 code points).
    public static let maximumNameLength = 200

    /// Why `name` is not acceptable, or nil: 1-200 code points, no control characters (C0, DEL, C1)
    /// and no bidirectional overrides or isolates (U+202A-202E, U+2066-2069), which would let a
    /// name rearrange what a terminal or page shows around it.
    public static func nameProblem(_ name: String) -> String? {
        let scalars = name.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= maximumNameLength else {
            return "1 to \(maximumNameLength) characters (Unicode code points); got \(scalars.count)"
        }
        for scalar in scalars {
            if let kind = unsafeKind(of: scalar) {
                return "may not contain \(kind) (found U+\(String(format: "%04X", scalar.value)))"
            }
        }
        return nil
    }

    /// What makes `scalar` unfit for a name ("control characters": C0, DEL, C1; "bidirectional
    /// overrides": U+202A-202E and the isolates U+2066-2069), or nil. Printing a stored name escapes
    /// exactly these.
    public static func unsafeKind(of scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: "control characters"
        case 0x202A...0x202E, 0x2066...0x2069: "bidirectional overrides"
        default: nil
        }
    }

    /// Checks the policy fields the way the schema does, with messages an operator can act on.
    public static func validate(
        name: String?, intervalMillis: Int?, graceMillis: Int?, maxRunMillis: Int??, schedule: ScheduleSpec? = nil,
        labels: [String: String]? = nil, downAfter: Int? = nil, upAfter: Int? = nil, remindEveryMillis: Int?? = nil, minInstances: Int? = nil
    ) throws(StoreError) {
        if let labels, let problem = ApplicationLabels.problem(labels) { throw .invalid("labels", problem) }
        if let name, let problem = nameProblem(name) { throw .invalid("name", problem) }
        if intervalMillis != nil, schedule != nil {
            throw .invalid("schedule", "an application has an interval_ms or a schedule, not both")
        }
        if let schedule, case .failure(let error) = schedule.parsed() { throw error }
        if let intervalMillis, !(1...2_147_483_647).contains(intervalMillis) { throw .invalid("interval_ms", "from 1 to 2147483647 milliseconds") }
        if let graceMillis, !(0...2_147_483_647).contains(graceMillis) { throw .invalid("grace_ms", "from 0 to 2147483647 milliseconds") }
        if let maxRun = maxRunMillis, let value = maxRun, !(1...2_147_483_647).contains(value) {
            throw .invalid("max_run_ms", "from 1 to 2147483647 milliseconds, or null")
        }
        let thresholds = LivenessPolicy.thresholdRange
        if let downAfter, !thresholds.contains(downAfter) { throw .invalid("down_after", "from \(thresholds.lowerBound) to \(thresholds.upperBound) consecutive misses") }
        if let upAfter, !thresholds.contains(upAfter) { throw .invalid("up_after", "from \(thresholds.lowerBound) to \(thresholds.upperBound) consecutive on-time records") }
        if let minInstances, !NoiseSettings.minInstancesRange.contains(minInstances) {
            let range = NoiseSettings.minInstancesRange
            throw .invalid("min_instances", "from \(range.lowerBound) to \(range.upperBound) distinct instances")
        }
        if let remind = remindEveryMillis, let value = remind, value != 0, !(NoiseSettings.minimumRemindMillis...2_147_483_647).contains(value) {
            throw .invalid("remind_every_ms", "0 (never), from \(NoiseSettings.minimumRemindMillis) to 2147483647 milliseconds, or null (the collector's default)")
        }
    }

    /// The interval an application gets when it is given neither an interval nor a schedule.
    public static let defaultIntervalMillis = 60_000

    /// Registers an application — a record every `intervalMillis` (default 60 s), or at each fire
    /// time of `schedule`, never both; returns it and, when signed, its new secret (shown once).
    public static func create(
        name: String, intervalMillis: Int?, schedule: ScheduleSpec? = nil, graceMillis: Int, maxRunMillis: Int?, signed: Bool,
        labels: [String: String] = [:], noise: NoiseSettings = NoiseSettings(), uuid: ApplicationUUID = .random(), provisioned: Bool = false,
        on connection: PostgresConnection
    ) throws(StoreError) -> (ApplicationRecord, ApplicationSecret?) {
        try validate(
            name: name, intervalMillis: intervalMillis, graceMillis: graceMillis, maxRunMillis: .some(maxRunMillis), schedule: schedule, labels: labels,
            downAfter: noise.downAfter, upAfter: noise.upAfter, remindEveryMillis: .some(noise.remindEveryMillis), minInstances: noise.minInstances)
        let interval = schedule == nil ? intervalMillis ?? defaultIntervalMillis : nil
        let secret: ApplicationSecret? = signed ? .random() : nil
        let rows = try run(connection) {
            try $0.execute("""
                INSERT INTO application (uuid, name, secret, interval_ms, schedule_cron, schedule_time_zone, grace_ms, max_run_ms, labels, provisioned,
                                         down_after, up_after, remind_every_ms, min_instances)
                VALUES ($1::uuid, $2, decode($3, 'hex'), $4::integer, $5, $6, $7::integer, $8::integer, $9::jsonb, $10::boolean,
                        $11::integer, $12::integer, $13::integer, $14::integer)
                RETURNING \(columns)
                """,
                [
                    "\(uuid)", name, secret?.hexString, interval.map(String.init), schedule?.cron, schedule?.timeZone,
                    String(graceMillis), maxRunMillis.map(String.init), ApplicationLabels.encode(labels), provisioned ? "true" : "false",
                    String(noise.downAfter), String(noise.upAfter), noise.remindEveryMillis.map(String.init), String(noise.minInstances),
                ])
        }
        guard let created = rows.first.flatMap(record) else { throw .database(PostgresError(operation: "insert", message: "no row returned")) }
        return (created, secret)
    }

    /// Applications in id order, after `afterID`, optionally with one status and a name prefix.
    public static func list(
        status: LivenessStatus?, namePrefix: String?, afterID: Int, limit: Int, on connection: PostgresConnection
    ) throws(StoreError) -> [ApplicationRecord] {
        // `starts_with` compares the prefix as it is: no LIKE pattern characters to escape.
        try run(connection) {
            try $0.execute("""
                SELECT \(columns) FROM application
                WHERE id > $1::integer AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR starts_with(name, $3))
                ORDER BY id LIMIT $4::integer
                """,
                [String(afterID), status?.description, namePrefix, String(limit)])
        }.rows.compactMap(record)
    }

    /// One application, or nil.
    public static func get(_ uuid: ApplicationUUID, on connection: PostgresConnection) throws(StoreError) -> ApplicationRecord? {
        try run(connection) { try $0.execute("SELECT \(columns) FROM application WHERE uuid = $1::uuid", ["\(uuid)"]) }.first.flatMap(record)
    }

    /// The changes a PATCH may carry (nil: leave as is; `maxRunMillis: .some(nil)` clears it).
    public struct Changes: Sendable {
        public var name: String?
        /// Setting one of these two replaces the other.
        public var intervalMillis: Int?
        public var schedule: ScheduleSpec?
        public var graceMillis: Int?
        public var maxRunMillis: Int??
        public var enabled: Bool?
        /// `true` gives an unsigned application a secret (returned once); `false` removes its secrets.
        public var signed: Bool?
        /// Replaces every label.
        public var labels: [String: String]?
        public var downAfter: Int?
        public var upAfter: Int?
        /// `.some(nil)` follows the collector's default again.
        public var remindEveryMillis: Int??
        public var minInstances: Int?
        public init(
            name: String? = nil, intervalMillis: Int? = nil, schedule: ScheduleSpec? = nil, graceMillis: Int? = nil, maxRunMillis: Int?? = nil,
            enabled: Bool? = nil, signed: Bool? = nil, labels: [String: String]? = nil, downAfter: Int? = nil, upAfter: Int? = nil,
            remindEveryMillis: Int?? = nil, minInstances: Int? = nil
        ) {
            self.minInstances = minInstances
            self.labels = labels
            self.downAfter = downAfter
            self.upAfter = upAfter
            self.remindEveryMillis = remindEveryMillis
            self.name = name
            self.intervalMillis = intervalMillis
            self.schedule = schedule
            self.graceMillis = graceMillis
            self.maxRunMillis = maxRunMillis
            self.enabled = enabled
            self.signed = signed
        }
    }

    /// Applies `changes`; returns the application as it is now, and its new secret when `signed`
    /// made an unsigned application signed (shown once). Naming an auto-registered application
    /// makes it an ordinary one: its transitions notify from then on.
    public static func update(
        _ uuid: ApplicationUUID, _ changes: Changes, on connection: PostgresConnection
    ) throws(StoreError) -> (ApplicationRecord, ApplicationSecret?) {
        try validate(
            name: changes.name, intervalMillis: changes.intervalMillis, graceMillis: changes.graceMillis, maxRunMillis: changes.maxRunMillis,
            schedule: changes.schedule, labels: changes.labels, downAfter: changes.downAfter, upAfter: changes.upAfter,
            remindEveryMillis: changes.remindEveryMillis, minInstances: changes.minInstances)
        // Each column keeps its value unless its "set" flag is true; one statement, all parameters.
        let newSecret: ApplicationSecret? = changes.signed == true ? .random() : nil
        let maxRun: Int?? = changes.maxRunMillis
        let rows = try run(connection) {
            try $0.execute("""
                WITH current AS (SELECT id, secret IS NOT NULL AS was_signed FROM application WHERE uuid = $1::uuid)
                UPDATE application SET
                    name = coalesce($2, name),
                    auto_registered = auto_registered AND $2::text IS NULL,
                    interval_ms = CASE WHEN $10::text IS NOT NULL THEN NULL ELSE coalesce($3::integer, interval_ms) END,
                    schedule_cron = CASE WHEN $3::integer IS NOT NULL THEN NULL ELSE coalesce($10, schedule_cron) END,
                    schedule_time_zone = CASE WHEN $3::integer IS NOT NULL THEN NULL ELSE coalesce($11, schedule_time_zone) END,
                    grace_ms = coalesce($4::integer, grace_ms),
                    labels = coalesce($12::jsonb, labels),
                    max_run_ms = CASE WHEN $5::boolean THEN $6::integer ELSE max_run_ms END,
                    is_active = coalesce($7::boolean, is_active),
                    down_after = coalesce($13::integer, down_after),
                    up_after = coalesce($14::integer, up_after),
                    remind_every_ms = CASE WHEN $15::boolean THEN $16::integer ELSE remind_every_ms END,
                    min_instances = coalesce($17::integer, min_instances),
                    secret = CASE WHEN $8::boolean IS NULL THEN secret
                                  WHEN $8::boolean AND NOT current.was_signed THEN decode($9, 'hex')
                                  WHEN $8::boolean THEN secret
                                  ELSE NULL END,
                    previous_secret = CASE WHEN $8::boolean = false THEN NULL ELSE previous_secret END,
                    previous_secret_expires_at = CASE WHEN $8::boolean = false THEN NULL ELSE previous_secret_expires_at END,
                    updated_at = now()
                FROM current WHERE application.id = current.id
                RETURNING \(columns.replacingOccurrences(of: "id, uuid::text", with: "application.id, uuid::text")), ($8::boolean AND NOT current.was_signed) AS secret_created
                """,
                [
                    "\(uuid)", changes.name, changes.intervalMillis.map(String.init), changes.graceMillis.map(String.init),
                    maxRun == nil ? "false" : "true", maxRun.flatMap { $0 }.map(String.init), changes.enabled.map { $0 ? "true" : "false" },
                    changes.signed.map { $0 ? "true" : "false" }, newSecret?.hexString, changes.schedule?.cron, changes.schedule?.timeZone,
                    changes.labels.map(ApplicationLabels.encode), changes.downAfter.map(String.init), changes.upAfter.map(String.init),
                    changes.remindEveryMillis == nil ? "false" : "true", changes.remindEveryMillis.flatMap { $0 }.map(String.init),
                    changes.minInstances.map(String.init),
                ])
        }
        guard let row = rows.first, let updated = record(row) else { throw .notFound }
        return (updated, row.bool("secret_created") == true ? newSecret : nil)
    }

    /// Deletes the application (its transitions go with it; stored heartbeats age out with their
    /// partitions). Returns whether it existed.
    public static func delete(_ uuid: ApplicationUUID, on connection: PostgresConnection) throws(StoreError) -> Bool {
        !(try run(connection) { try $0.execute("DELETE FROM application WHERE uuid = $1::uuid RETURNING id", ["\(uuid)"]) }).isEmpty
    }

    /// A new secret for a signed application; the old one stays valid for `previousValidSeconds`.
    /// Returns the new secret (shown once) and when the old one expires (Unix µs). An unsigned
    /// application is refused (``StoreError/conflict(_:)``): rotating would make it signed at once
    /// and its next unsigned record would be refused as `auth`; making it signed is an explicit
    /// PATCH of `signed`.
    public static func rotateSecret(_ uuid: ApplicationUUID, previousValidSeconds: Int, on connection: PostgresConnection) throws(StoreError) -> (ApplicationSecret, Int64?) {
        guard let current = try get(uuid, on: connection) else { throw .notFound }
        guard current.signed else {
            throw .conflict(
                "the application is unsigned, so it has no secret to rotate; to sign its records, PATCH /v1/apps/\(uuid) with {\"signed\": true} (the answer carries the new secret), then update its senders")
        }
        let secret = ApplicationSecret.random()
        let rows = try run(connection) {
            try $0.execute("""
                UPDATE application SET previous_secret = secret,
                    previous_secret_expires_at = now() + make_interval(secs => $2::integer),
                    secret = decode($3, 'hex'), updated_at = now()
                WHERE uuid = $1::uuid AND secret IS NOT NULL
                RETURNING (extract(epoch FROM previous_secret_expires_at) * 1000000)::bigint AS expires_us
                """, ["\(uuid)", String(previousValidSeconds), secret.hexString])
        }
        guard let row = rows.first else { throw .conflict("the application changed while its secret was rotated; try again") }
        return (secret, row.int64("expires_us"))
    }

    /// An operator's pause (or resume: back to `new`, waiting for the next record), recorded like
    /// any transition — conditional UPDATE, `status_change` row, notification and its
    /// deliveries to the channels that take it, in one statement — then the registry version is bumped so every monitor adopts it.
    /// Returns the application and the notification (nil when the status was already that).
    public static func setOperatorStatus(
        _ uuid: ApplicationUUID, paused: Bool, on connection: PostgresConnection
    ) throws(StoreError) -> (ApplicationRecord, String?) {
        guard let current = try get(uuid, on: connection) else { throw .notFound }
        let target: LivenessStatus = paused ? .paused : .new
        guard current.status != target.description, let from = LivenessStatus(label: current.status) else {
            return (current, nil)
        }
        if !paused, current.status != LivenessStatus.paused.description { return (current, nil) }  // resume only undoes a pause
        let transition = LivenessTransition(
            from: from, to: target, atMicros: Int64(Date().timeIntervalSince1970 * 1_000_000), reason: paused ? .operatorPause : .operatorResume)
        let recorded = try run(connection) { try TransitionWriter.write([PendingTransition(applicationID: current.id, transition: transition)], render: true, on: $0) }
        _ = try run(connection) { try $0.execute("UPDATE registry_version SET version = version + 1") }
        _ = try run(connection) { try $0.execute("SELECT pg_notify('heartbeat_registry', '')") }
        guard let now = try get(uuid, on: connection) else { throw .notFound }
        return (now, recorded.first?.payload ?? nil)
    }

    /// The range of `before` an events read accepts: years 1-9999, like a record's `sent_at`.
    public static let eventTimeRange = WireFormat.earliestSentAtMicros...WireFormat.latestSentAtMicros

    /// The latest stored heartbeats, newest first, received before `beforeMicros` when given.
    /// One round trip when there are events; a second only to tell "no events" from "no such
    /// application".
    public static func events(_ uuid: ApplicationUUID, limit: Int, beforeMicros: Int64?, on connection: PostgresConnection) throws(StoreError) -> [StoredEvent]? {
        if let beforeMicros, !eventTimeRange.contains(beforeMicros) {
            throw .invalid("before", "a time in years 1-9999 (Unix microseconds \(eventTimeRange.lowerBound) to \(eventTimeRange.upperBound))")
        }
        let kinds = ["beat", "start", "success", "fail", "stop"]
        let rows = try run(connection) {
            try $0.execute("""
                SELECT (extract(epoch FROM received_at) * 1000000)::bigint AS received_us, (extract(epoch FROM sent_at) * 1000000)::bigint AS sent_us,
                       instance, seq, kind, status
                FROM heartbeat_event WHERE application_id = (SELECT id FROM application WHERE uuid = $1::uuid)
                  AND ($2::bigint IS NULL OR received_at < 'epoch'::timestamptz + $2::bigint * interval '1 microsecond')
                ORDER BY received_at DESC LIMIT $3::integer
                """, ["\(uuid)", beforeMicros.map(String.init), String(limit)])
        }
        if rows.isEmpty, try get(uuid, on: connection) == nil { return nil }
        return rows.rows.compactMap { row in
            guard let received = row.int64("received_us"), let sent = row.int64("sent_us"), let instance = row.int64("instance"),
                let sequence = row.int64("seq"), let kind = row.int("kind"), let status = row["status"].flatMap({ Int32($0) })
            else { return nil }
            return StoredEvent(
                receivedAtMicros: received, sentAtMicros: sent, instance: instance, sequence: sequence,
                kind: kinds.indices.contains(kind) ? kinds[kind] : String(kind), status: status)
        }
    }

    static func transition(_ row: QueryRow) -> StoredTransition? {
        guard let id = row.int64("id"), let at = row.int64("at_us"), let from = row["from_status"], let to = row["to_status"], let reason = row["reason"]
        else { return nil }
        return StoredTransition(id: id, atMicros: at, from: from, to: to, reason: reason, runDurationMillis: row.int64("run_duration_ms"))
    }

    /// The latest transitions, newest first.
    public static func transitions(_ uuid: ApplicationUUID, limit: Int, on connection: PostgresConnection) throws(StoreError) -> [StoredTransition]? {
        guard let application = try get(uuid, on: connection) else { return nil }
        return try run(connection) {
            try $0.execute("""
                SELECT id, (extract(epoch FROM at) * 1000000)::bigint AS at_us, from_status, to_status, reason, run_duration_ms
                FROM status_change WHERE application_id = $1::integer ORDER BY id DESC LIMIT $2::integer
                """, [String(application.id), String(limit)])
        }.rows.compactMap(transition)
    }

    /// Recent transitions of every application, newest first, with the application's name and UUID.
    public static func recentTransitions(limit: Int, on connection: PostgresConnection) throws(StoreError) -> [(uuid: String, name: String, transition: StoredTransition)] {
        try run(connection) {
            try $0.execute("""
                SELECT s.id, (extract(epoch FROM s.at) * 1000000)::bigint AS at_us, s.from_status, s.to_status, s.reason, s.run_duration_ms,
                       a.uuid::text AS uuid, a.name
                FROM status_change s JOIN application a ON a.id = s.application_id ORDER BY s.id DESC LIMIT $1::integer
                """, [String(limit)])
        }.rows.compactMap { row in
            guard let transition = transition(row), let uuid = row["uuid"], let name = row["name"] else { return nil }
            return (uuid, name, transition)
        }
    }

    /// What ``Uptime`` needs of an application's transitions for [fromMicros, toMicros): the
    /// status the last transition at or before `fromMicros` entered (`new` when none), and the
    /// transitions after it inside the window, oldest first. Times are exact microseconds.
    public static func statusHistory(
        applicationID: Int, fromMicros: Int64, toMicros: Int64, on connection: PostgresConnection
    ) throws(StoreError) -> (statusAtStart: LivenessStatus, changes: [Uptime.Change]) {
        let before = try run(connection) {
            try $0.execute("""
                SELECT to_status FROM status_change
                WHERE application_id = $1::integer AND at <= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond'
                ORDER BY at DESC, id DESC LIMIT 1
                """, [String(applicationID), String(fromMicros)])
        }
        // In binary form: a year of hourly transitions is 8,760 rows, and text timestamps would
        // cost more to format and parse than the index-only scan takes to read them.
        let changes = try run(connection) {
            try $0.withBinaryResult("""
                SELECT at, to_status FROM status_change
                WHERE application_id = $1::integer
                  AND at > 'epoch'::timestamptz + $2::bigint * interval '1 microsecond'
                  AND at < 'epoch'::timestamptz + $3::bigint * interval '1 microsecond'
                ORDER BY at, id
                """, [String(applicationID), String(fromMicros), String(toMicros)]) { result in
                let at = result.column("at"), to = result.column("to_status")
                var changes = [Uptime.Change]()
                changes.reserveCapacity(result.count)
                for row in 0..<result.count {
                    guard let micros = result.timestampMicros(row, at), let status = result.text(row, to).flatMap(LivenessStatus.init(label:)) else { continue }
                    changes.append(Uptime.Change(atMicros: micros, to: status))
                }
                return changes
            }
        }
        return (before.first?["to_status"].flatMap(LivenessStatus.init(label:)) ?? .new, changes)
    }

    /// Records lost over the last hour (the 60 whole minutes before the current one, and what of
    /// the current one is written), from the merged rollups (``RollupStore``). HTTP pings carry no
    /// sequence and never count as lost.
    public static func recordsLostLastHour(applicationID: Int, on connection: PostgresConnection) throws(StoreError) -> Int64 {
        let nowMinute = WallClock.nowMicros() / RollupStore.microsPerMinute
        return try RollupStore.loss(applicationID: applicationID, fromMinute: nowMinute - 60, toMinute: nowMinute + 1, on: connection).loss.lost
    }

    /// The registry's version now (`registry_version`): every write to a column collectors load
    /// bumps it.
    public static func registryVersion(on connection: PostgresConnection) throws(StoreError) -> Int64 {
        try run(connection) { try $0.execute("SELECT version FROM registry_version") }.first?.int64("version") ?? 0
    }

    /// Enabled applications by status (every status present).
    public static func summary(on connection: PostgresConnection) throws(StoreError) -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: LivenessStatus.allCases.map { ($0.description, 0) })
        for row in try run(connection, { try $0.execute("SELECT status, count(*) AS count FROM application WHERE is_active GROUP BY status") }).rows {
            if let status = row["status"], let count = row.int("count") { counts[status] = count }
        }
        return counts
    }

    static func run<Result>(_ connection: PostgresConnection, _ body: (PostgresConnection) throws -> Result) throws(StoreError) -> Result {
        do {
            return try body(connection)
        } catch let error as PostgresError {
            throw .database(error)
        } catch {
            throw .database(PostgresError(operation: "query", message: "\(error)"))
        }
    }
}
