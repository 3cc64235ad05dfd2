import Foundation
import Protocol

/// One registered application as the status API and `heartbeat app` show it.
public struct ApplicationRecord: Sendable, Equatable {
    public let id: Int
    public let uuid: String
    public let name: String
    public let status: String
    public let intervalMillis: Int
    public let graceMillis: Int
    public let maxRunMillis: Int?
    public let signed: Bool
    public let enabled: Bool
    /// Unix µs, when known.
    public let lastHeartbeatMicros: Int64?
    public let lastRunMillis: Int64?
    public let lastRunAtMicros: Int64?
    public let createdAtMicros: Int64
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

    public var description: String {
        switch self {
        case .database(let error): "\(error)"
        case .notFound: "no such application"
        case .invalid(let field, let message): "\(field): \(message)"
        }
    }
}

/// The registry's management and read operations, in SQL, shared by the HTTP sidecar and the
/// `heartbeat app` commands. Every write that collectors load bumps the registry version through
/// the schema's trigger; an operator's pause or resume bumps it explicitly, so monitors adopt it.
/// Each call runs on the connection it is given (one thread at a time).
public enum ApplicationStore {
    /// What an application's JSON and list rows read.
    static let columns = """
        id, uuid::text, name, status, interval_ms, grace_ms, max_run_ms, secret IS NOT NULL, is_active,
        (extract(epoch FROM last_heartbeat) * 1000000)::bigint, last_run_ms, (extract(epoch FROM last_run_at) * 1000000)::bigint,
        (extract(epoch FROM created_at) * 1000000)::bigint
        """

    static func record(_ row: [String?]) -> ApplicationRecord? {
        guard row.count >= 13, let id = row[0].flatMap({ Int($0) }), let uuid = row[1], let name = row[2], let status = row[3],
            let interval = row[4].flatMap({ Int($0) }), let grace = row[5].flatMap({ Int($0) }), let created = row[12].flatMap({ Int64($0) })
        else { return nil }
        return ApplicationRecord(
            id: id, uuid: uuid, name: name, status: status, intervalMillis: interval, graceMillis: grace,
            maxRunMillis: row[6].flatMap { Int($0) }, signed: row[7] == "t", enabled: row[8] == "t",
            lastHeartbeatMicros: row[9].flatMap { Int64($0) }, lastRunMillis: row[10].flatMap { Int64($0) },
            lastRunAtMicros: row[11].flatMap { Int64($0) }, createdAtMicros: created)
    }

    /// Checks the policy fields the way the schema does, with messages an operator can act on.
    public static func validate(name: String?, intervalMillis: Int?, graceMillis: Int?, maxRunMillis: Int??) throws(StoreError) {
        if let name, name.isEmpty || name.count > 200 { throw .invalid("name", "1 to 200 characters") }
        if let intervalMillis, !(1...2_147_483_647).contains(intervalMillis) { throw .invalid("interval_ms", "a positive number of milliseconds") }
        if let graceMillis, !(0...2_147_483_647).contains(graceMillis) { throw .invalid("grace_ms", "zero or a positive number of milliseconds") }
        if let maxRun = maxRunMillis, let value = maxRun, !(1...2_147_483_647).contains(value) {
            throw .invalid("max_run_ms", "a positive number of milliseconds, or null")
        }
    }

    /// Registers an application; returns it and, when signed, its new secret (shown once).
    public static func create(
        name: String, intervalMillis: Int, graceMillis: Int, maxRunMillis: Int?, signed: Bool, on connection: PostgresConnection
    ) throws(StoreError) -> (ApplicationRecord, ApplicationSecret?) {
        try validate(name: name, intervalMillis: intervalMillis, graceMillis: graceMillis, maxRunMillis: .some(maxRunMillis))
        let secret: ApplicationSecret? = signed ? .random() : nil
        let rows = try run(connection) {
            try $0.query("""
                INSERT INTO application (uuid, name, secret, interval_ms, grace_ms, max_run_ms)
                VALUES ('\(ApplicationUUID.random())', \(PostgresConnection.literal(name)), \(secret.map { "'\\x\($0.hexString)'::bytea" } ?? "NULL"),
                        \(intervalMillis), \(graceMillis), \(maxRunMillis.map(String.init) ?? "NULL"))
                RETURNING \(columns)
                """)
        }
        guard let created = rows.first.flatMap(record) else { throw .database(PostgresError(operation: "insert", message: "no row returned")) }
        return (created, secret)
    }

    /// Applications in id order, after `afterID`, optionally with one status and a name prefix.
    public static func list(
        status: String?, namePrefix: String?, afterID: Int, limit: Int, on connection: PostgresConnection
    ) throws(StoreError) -> [ApplicationRecord] {
        var conditions = ["id > \(afterID)"]
        if let status { conditions.append("status = \(PostgresConnection.literal(status))") }
        if let namePrefix {
            let escaped = namePrefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            conditions.append("name LIKE \(PostgresConnection.literal(escaped + "%"))")
        }
        return try run(connection) {
            try $0.query("SELECT \(columns) FROM application WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT \(limit)")
        }.compactMap(record)
    }

    /// Enabled applications worst first (down, late, new, paused, up), then by name.
    public static func worstFirst(limit: Int, on connection: PostgresConnection) throws(StoreError) -> [ApplicationRecord] {
        try run(connection) {
            try $0.query("""
                SELECT \(columns) FROM application WHERE is_active
                ORDER BY CASE status WHEN 'down' THEN 0 WHEN 'late' THEN 1 WHEN 'new' THEN 2 WHEN 'paused' THEN 3 ELSE 4 END, name, id
                LIMIT \(limit)
                """)
        }.compactMap(record)
    }

    /// One application, or nil.
    public static func get(_ uuid: ApplicationUUID, on connection: PostgresConnection) throws(StoreError) -> ApplicationRecord? {
        try run(connection) { try $0.query("SELECT \(columns) FROM application WHERE uuid = '\(uuid)'") }.first.flatMap(record)
    }

    /// The changes a PATCH may carry (nil: leave as is; `maxRunMillis: .some(nil)` clears it).
    public struct Changes: Sendable {
        public var name: String?
        public var intervalMillis: Int?
        public var graceMillis: Int?
        public var maxRunMillis: Int??
        public var enabled: Bool?
        public init(name: String? = nil, intervalMillis: Int? = nil, graceMillis: Int? = nil, maxRunMillis: Int?? = nil, enabled: Bool? = nil) {
            self.name = name
            self.intervalMillis = intervalMillis
            self.graceMillis = graceMillis
            self.maxRunMillis = maxRunMillis
            self.enabled = enabled
        }
    }

    /// Applies `changes`; returns the application as it is now.
    public static func update(_ uuid: ApplicationUUID, _ changes: Changes, on connection: PostgresConnection) throws(StoreError) -> ApplicationRecord {
        try validate(name: changes.name, intervalMillis: changes.intervalMillis, graceMillis: changes.graceMillis, maxRunMillis: changes.maxRunMillis)
        var assignments = [String]()
        if let name = changes.name { assignments.append("name = \(PostgresConnection.literal(name))") }
        if let interval = changes.intervalMillis { assignments.append("interval_ms = \(interval)") }
        if let grace = changes.graceMillis { assignments.append("grace_ms = \(grace)") }
        if let maxRun = changes.maxRunMillis { assignments.append("max_run_ms = \(maxRun.map(String.init) ?? "NULL")") }
        if let enabled = changes.enabled { assignments.append("is_active = \(enabled)") }
        guard !assignments.isEmpty else {
            guard let current = try get(uuid, on: connection) else { throw .notFound }
            return current
        }
        assignments.append("updated_at = now()")
        let rows = try run(connection) {
            try $0.query("UPDATE application SET \(assignments.joined(separator: ", ")) WHERE uuid = '\(uuid)' RETURNING \(columns)")
        }
        guard let updated = rows.first.flatMap(record) else { throw .notFound }
        return updated
    }

    /// Deletes the application (its transitions go with it; stored heartbeats age out with their
    /// partitions). Returns whether it existed.
    public static func delete(_ uuid: ApplicationUUID, on connection: PostgresConnection) throws(StoreError) -> Bool {
        !(try run(connection) { try $0.query("DELETE FROM application WHERE uuid = '\(uuid)' RETURNING id") }).isEmpty
    }

    /// A new secret; the old one stays valid for `previousValidSeconds`. Unsigned applications
    /// become signed. Returns the new secret (shown once) and when the old one expires (Unix µs).
    public static func rotateSecret(_ uuid: ApplicationUUID, previousValidSeconds: Int, on connection: PostgresConnection) throws(StoreError) -> (ApplicationSecret, Int64?) {
        let secret = ApplicationSecret.random()
        let rows = try run(connection) {
            try $0.query("""
                UPDATE application SET previous_secret = secret,
                    previous_secret_expires_at = CASE WHEN secret IS NULL THEN NULL ELSE now() + make_interval(secs => \(previousValidSeconds)) END,
                    secret = '\\x\(secret.hexString)'::bytea, updated_at = now()
                WHERE uuid = '\(uuid)'
                RETURNING (extract(epoch FROM previous_secret_expires_at) * 1000000)::bigint
                """)
        }
        guard let row = rows.first else { throw .notFound }
        return (secret, row[0].flatMap { Int64($0) })
    }

    /// An operator's pause (or resume: back to `new`, waiting for the next record), recorded like
    /// any transition — conditional UPDATE, `status_change` row, notification and webhook outbox
    /// rows in one statement — then the registry version is bumped so every monitor adopts it.
    /// Returns the application and the notification (nil when the status was already that).
    public static func setOperatorStatus(
        _ uuid: ApplicationUUID, paused: Bool, webhookURLs: [String], on connection: PostgresConnection
    ) throws(StoreError) -> (ApplicationRecord, String?) {
        guard let current = try get(uuid, on: connection) else { throw .notFound }
        let target: LivenessStatus = paused ? .paused : .new
        guard current.status != target.description, let from = LivenessStatus.allCases.first(where: { $0.description == current.status }) else {
            return (current, nil)
        }
        if !paused, current.status != LivenessStatus.paused.description { return (current, nil) }  // resume only undoes a pause
        let transition = LivenessTransition(
            from: from, to: target, atMicros: Int64(Date().timeIntervalSince1970 * 1_000_000), reason: paused ? .operatorPause : .operatorResume)
        let recorded = try run(connection) { try TransitionWriter.write([(current.id, transition)], webhookURLs: webhookURLs, render: true, on: $0) }
        _ = try run(connection) { try $0.query("UPDATE registry_version SET version = version + 1; SELECT pg_notify('heartbeat_registry', '')") }
        guard let now = try get(uuid, on: connection) else { throw .notFound }
        return (now, recorded.first?.payload ?? nil)
    }

    /// The latest stored heartbeats, newest first, received before `beforeMicros` when given.
    /// One round trip when there are events; a second only to tell "no events" from "no such
    /// application".
    public static func events(_ uuid: ApplicationUUID, limit: Int, beforeMicros: Int64?, on connection: PostgresConnection) throws(StoreError) -> [StoredEvent]? {
        let before = beforeMicros.map { "AND received_at < to_timestamp(\($0) / 1000000.0)" } ?? ""
        let kinds = ["beat", "start", "success", "fail", "stop"]
        let rows = try run(connection) {
            try $0.query("""
                SELECT (extract(epoch FROM received_at) * 1000000)::bigint, (extract(epoch FROM sent_at) * 1000000)::bigint, instance, seq, kind, status
                FROM heartbeat_event WHERE application_id = (SELECT id FROM application WHERE uuid = '\(uuid)') \(before)
                ORDER BY received_at DESC LIMIT \(limit)
                """)
        }
        if rows.isEmpty, try get(uuid, on: connection) == nil { return nil }
        return rows.compactMap { row in
            guard let received = row[0].flatMap({ Int64($0) }), let sent = row[1].flatMap({ Int64($0) }), let instance = row[2].flatMap({ Int64($0) }),
                let sequence = row[3].flatMap({ Int64($0) }), let kind = row[4].flatMap({ Int($0) }), let status = row[5].flatMap({ Int32($0) })
            else { return nil }
            return StoredEvent(
                receivedAtMicros: received, sentAtMicros: sent, instance: instance, sequence: sequence,
                kind: kinds.indices.contains(kind) ? kinds[kind] : String(kind), status: status)
        }
    }

    /// The latest transitions, newest first.
    public static func transitions(_ uuid: ApplicationUUID, limit: Int, on connection: PostgresConnection) throws(StoreError) -> [StoredTransition]? {
        guard let application = try get(uuid, on: connection) else { return nil }
        return try run(connection) {
            try $0.query("""
                SELECT id, (extract(epoch FROM at) * 1000000)::bigint, from_status, to_status, reason, run_duration_ms
                FROM status_change WHERE application_id = \(application.id) ORDER BY id DESC LIMIT \(limit)
                """)
        }.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let at = row[1].flatMap({ Int64($0) }), let from = row[2], let to = row[3], let reason = row[4]
            else { return nil }
            return StoredTransition(id: id, atMicros: at, from: from, to: to, reason: reason, runDurationMillis: row[5].flatMap { Int64($0) })
        }
    }

    /// Recent transitions of every application, newest first, with the application's name and UUID.
    public static func recentTransitions(limit: Int, on connection: PostgresConnection) throws(StoreError) -> [(uuid: String, name: String, transition: StoredTransition)] {
        try run(connection) {
            try $0.query("""
                SELECT s.id, (extract(epoch FROM s.at) * 1000000)::bigint, s.from_status, s.to_status, s.reason, s.run_duration_ms, a.uuid::text, a.name
                FROM status_change s JOIN application a ON a.id = s.application_id ORDER BY s.id DESC LIMIT \(limit)
                """)
        }.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let at = row[1].flatMap({ Int64($0) }), let from = row[2], let to = row[3], let reason = row[4],
                let uuid = row[6], let name = row[7]
            else { return nil }
            return (uuid, name, StoredTransition(id: id, atMicros: at, from: from, to: to, reason: reason, runDurationMillis: row[5].flatMap { Int64($0) }))
        }
    }

    /// Records lost over the last hour, from gaps in each instance's sequence numbers (read through
    /// the (application_id, received_at) index).
    public static func recordsLostLastHour(applicationID: Int, on connection: PostgresConnection) throws(StoreError) -> Int64 {
        let rows = try run(connection) {
            try $0.query("""
                SELECT coalesce(sum(max_seq - min_seq + 1 - seen), 0) FROM (
                    SELECT max(seq) AS max_seq, min(seq) AS min_seq, count(DISTINCT seq) AS seen
                    FROM heartbeat_event WHERE application_id = \(applicationID) AND received_at > now() - interval '1 hour'
                    GROUP BY instance) AS per_instance
                """)
        }
        let value: String?? = rows.first?.first
        return value.flatMap { $0 }.flatMap { Int64($0) } ?? 0
    }

    /// Enabled applications by status (every status present).
    public static func summary(on connection: PostgresConnection) throws(StoreError) -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: LivenessStatus.allCases.map { ($0.description, 0) })
        for row in try run(connection, { try $0.query("SELECT status, count(*) FROM application WHERE is_active GROUP BY status") }) {
            if let status = row[0], let count = row[1].flatMap({ Int($0) }) { counts[status] = count }
        }
        return counts
    }

    private static func run<Result>(_ connection: PostgresConnection, _ body: (PostgresConnection) throws -> Result) throws(StoreError) -> Result {
        do {
            return try body(connection)
        } catch let error as PostgresError {
            throw .database(error)
        } catch {
            throw .database(PostgresError(operation: "query", message: "\(error)"))
        }
    }
}
