import Foundation
import Protocol

/// Silences in SQL, shared by the sidecar's `/v1/silences`, `heartbeat silence` and the registry
/// loader (collectors hold every silence with the registry). Values travel as libpq parameters;
/// rows are read by column name.
public enum SilenceStore {
    /// The longest comment, in characters.
    public static let maximumCommentLength = 1_000
    /// The most applications one silence may list.
    public static let maximumApplications = 10_000
    /// A recurring window's shortest and longest duration, ms.
    public static let durationRange: ClosedRange<Int64> = 60_000...604_800_000

    /// Why `silence` cannot be stored (a field and a message), or nil. `nowMicros`: a window
    /// that ended before it silences nothing and is refused.
    public static func problem(_ silence: Silence, nowMicros: Int64) -> (field: String, message: String)? {
        switch silence.selector {
        case .all: break
        case .applications(let uuids):
            if uuids.isEmpty || uuids.count > maximumApplications {
                return ("apps", "1 to \(maximumApplications) application UUIDs; got \(uuids.count)")
            }
        case .labels(let labels):
            if labels.isEmpty { return ("labels", "at least one label") }
            if let problem = ApplicationLabels.problem(labels) { return ("labels", problem) }
        case .namePrefix(let prefix):
            if let problem = ApplicationStore.nameProblem(prefix) { return ("name_prefix", problem) }
        }
        switch silence.window {
        case .between(let from, let until):
            if until <= from { return ("until", "must be after from") }
            if until <= nowMicros { return ("until", "is in the past: the silence would cover nothing") }
        case .recurring(_, let duration):
            if !durationRange.contains(duration / 1_000) || duration % 1_000 != 0 {
                return ("duration_ms", "from \(durationRange.lowerBound) (a minute) to \(durationRange.upperBound) (a week) milliseconds")
            }
        }
        if silence.comment.count > maximumCommentLength { return ("comment", "at most \(maximumCommentLength) characters") }
        if silence.comment.unicodeScalars.contains(where: { ApplicationStore.unsafeKind(of: $0) != nil && $0 != "\n" }) {
            return ("comment", "may not contain control characters (other than line breaks) or bidirectional overrides")
        }
        return nil
    }

    private static let columns = """
        id, all_applications, array_to_json(application_uuids)::text AS application_uuids, labels::text AS labels, name_prefix,
        (extract(epoch FROM starts_at) * 1000000)::bigint AS starts_us, (extract(epoch FROM ends_at) * 1000000)::bigint AS ends_us,
        schedule_cron, schedule_time_zone, duration_ms, comment, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
        """

    /// Stores `silence` (its id is ignored); returns it as stored, with its id.
    public static func create(_ silence: Silence, nowMicros: Int64, on connection: PostgresConnection) throws(StoreError) -> Silence {
        if let (field, message) = problem(silence, nowMicros: nowMicros) { throw .invalid(field, message) }
        var uuids: [String]?
        var labels: String?
        var prefix: String?
        switch silence.selector {
        case .all: break
        case .applications(let set): uuids = set.map(\.description).sorted()
        case .labels(let wanted): labels = ApplicationLabels.encode(wanted)
        case .namePrefix(let value): prefix = value
        }
        var between: (Int64, Int64)?
        var recurring: (CronSchedule, Int64)?
        switch silence.window {
        case .between(let from, let until): between = (from, until)
        case .recurring(let schedule, let duration): recurring = (schedule, duration)
        }
        let rows = try ApplicationStore.run(connection) {
            try $0.execute("""
                INSERT INTO silence (all_applications, application_uuids, labels, name_prefix, starts_at, ends_at,
                                     schedule_cron, schedule_time_zone, duration_ms, comment)
                VALUES ($1::boolean, $2::uuid[], $3::jsonb, $4, to_timestamp($5::bigint / 1000000.0), to_timestamp($6::bigint / 1000000.0),
                        $7, $8, $9::bigint, $10)
                RETURNING \(columns)
                """,
                [
                    silence.selector == .all ? "true" : "false", uuids.map { PostgresConnection.arrayParameter($0) }, labels, prefix,
                    between.map { String($0.0) }, between.map { String($0.1) }, recurring?.0.expression.text, recurring?.0.zone.identifier,
                    recurring.map { String($0.1 / 1_000) }, silence.comment,
                ])
        }
        guard let stored = rows.first.flatMap(silence(from:)) else { throw .database(PostgresError(operation: "insert", message: "no row returned")) }
        return stored
    }

    /// Every silence, in id order (ended ones too, until deleted).
    public static func list(on connection: PostgresConnection) throws(StoreError) -> [Silence] {
        try ApplicationStore.run(connection) { try $0.execute("SELECT \(columns) FROM silence ORDER BY id") }.rows.compactMap(silence(from:))
    }

    /// Every silence not yet over, for the registry loader (inside its transaction): one that
    /// ends while the snapshot is in force stops covering by its own clock.
    static func load(_ connection: PostgresConnection) throws(PostgresError) -> [Silence] {
        try connection.execute("SELECT \(columns) FROM silence WHERE ends_at IS NULL OR ends_at > now() ORDER BY id").rows.compactMap(silence(from:))
    }

    /// One silence, or nil.
    public static func get(_ id: Int, on connection: PostgresConnection) throws(StoreError) -> Silence? {
        try ApplicationStore.run(connection) {
            try $0.execute("SELECT \(columns) FROM silence WHERE id = $1::integer", [String(id)])
        }.rows.first.flatMap(silence(from:))
    }

    /// Deletes it (ending it at once); whether it existed.
    public static func delete(_ id: Int, on connection: PostgresConnection) throws(StoreError) -> Bool {
        !(try ApplicationStore.run(connection) { try $0.execute("DELETE FROM silence WHERE id = $1::integer RETURNING id", [String(id)]) }).isEmpty
    }

    /// The silence a row holds; nil for a row this build cannot read (a schedule that does not
    /// parse, written around the API).
    static func silence(from row: QueryRow) -> Silence? {
        guard let id = row.int("id") else { return nil }
        let selector: Silence.Selector
        if row.bool("all_applications") == true {
            selector = .all
        } else if let uuids = row["application_uuids"] {
            let texts = (try? JSONSerialization.jsonObject(with: Data(uuids.utf8))) as? [String] ?? []
            selector = .applications(Set(texts.compactMap { ApplicationUUID($0) }))
        } else if let labels = row["labels"] {
            selector = .labels(ApplicationLabels.decode(labels))
        } else if let prefix = row["name_prefix"] {
            selector = .namePrefix(prefix)
        } else {
            return nil
        }
        let window: Silence.Window
        if let from = row.int64("starts_us"), let until = row.int64("ends_us") {
            window = .between(fromMicros: from, untilMicros: until)
        } else if let cron = row["schedule_cron"], let zone = row["schedule_time_zone"], let duration = row.int64("duration_ms"),
            let schedule = ScheduleSpec(cron: cron, timeZone: zone).cached
        {
            window = .recurring(schedule, durationMicros: duration * 1_000)
        } else {
            return nil
        }
        return Silence(id: id, selector: selector, window: window, comment: row["comment"] ?? "", createdAtMicros: row.int64("created_us") ?? 0)
    }
}
