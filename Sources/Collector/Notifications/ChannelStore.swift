import Foundation

/// `notification_channel` in PostgreSQL: create, read, change, delete, and the `--webhook-url`
/// bootstrap. Every write is validated first (``NotificationChannel/validate()``), so a stored
/// channel always has a known kind, its settings and templates that render.
public enum ChannelStore {
    /// A channel as stored, with its cluster-wide outcome counts.
    public struct Stored: Sendable, Equatable {
        public let channel: NotificationChannel
        public let delivered: Int64
        public let failed: Int64
        public let abandoned: Int64
        public let lastError: String?
        public let lastErrorAtMicros: Int64?
        public let createdAtMicros: Int64
    }

    static let columns = """
        id, kind, name, settings::text AS settings, secret, enabled, array_to_json(filter_events)::text AS events,
        filter_labels::text AS labels, title_template, body_template, delivered, failed, abandoned, last_error,
        (extract(epoch FROM last_error_at) * 1000000)::bigint AS last_error_us, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
        """

    /// ``columns`` for a statement that joins other tables.
    static let qualifiedColumns = """
        notification_channel.id, notification_channel.kind, notification_channel.name, notification_channel.settings::text AS settings,
        notification_channel.secret, notification_channel.enabled, array_to_json(notification_channel.filter_events)::text AS events,
        notification_channel.filter_labels::text AS labels, notification_channel.title_template, notification_channel.body_template
        """

    /// The channel a row of ``columns`` holds.
    static func channel(_ row: QueryRow) -> NotificationChannel {
        NotificationChannel(
            id: row.int("id") ?? 0, kind: row["kind"] ?? "", name: row["name"] ?? "", settings: ApplicationLabels.decode(row["settings"]),
            secret: row["secret"], enabled: row.bool("enabled") ?? false,
            events: row["events"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String] },
            labelFilter: ApplicationLabels.decode(row["labels"]), titleTemplate: row["title_template"], bodyTemplate: row["body_template"])
    }

    static func stored(_ row: QueryRow) -> Stored {
        Stored(
            channel: channel(row), delivered: row.int64("delivered") ?? 0, failed: row.int64("failed") ?? 0,
            abandoned: row.int64("abandoned") ?? 0, lastError: row["last_error"], lastErrorAtMicros: row.int64("last_error_us"),
            createdAtMicros: row.int64("created_us") ?? 0)
    }

    static func jsonText(_ map: [String: String]) -> String { ApplicationLabels.encode(map) }

    /// The statement parameters of `channel`'s stored columns, $1 … $9.
    static func parameters(_ channel: NotificationChannel) -> [String?] {
        [
            channel.kind, channel.name, jsonText(channel.settings), channel.secret, channel.enabled ? "true" : "false",
            channel.events.map { PostgresConnection.arrayParameter($0) }, jsonText(channel.labelFilter), channel.titleTemplate,
            channel.bodyTemplate,
        ]
    }

    static func invalid(_ error: NotificationChannel.Invalid) -> StoreError { .invalid(error.field, error.message) }

    /// Stores a new channel; a name already taken is a conflict.
    public static func create(_ channel: NotificationChannel, on connection: PostgresConnection) throws(StoreError) -> Stored {
        do throws(NotificationChannel.Invalid) { try channel.validate() } catch { throw invalid(error) }
        if try get(named: channel.name, on: connection) != nil { throw .conflict("a channel named \"\(channel.name)\" exists already") }
        let rows = try ApplicationStore.run(connection) {
            try $0.execute("""
                INSERT INTO notification_channel (kind, name, settings, secret, enabled, filter_events, filter_labels, title_template, body_template)
                VALUES ($1, $2, $3::jsonb, $4, $5::boolean, $6::text[], $7::jsonb, $8, $9) RETURNING \(columns)
                """, parameters(channel)).rows
        }
        guard let row = rows.first else { throw .conflict("the channel was not stored") }
        return stored(row)
    }

    /// Every channel, by id.
    public static func list(on connection: PostgresConnection) throws(StoreError) -> [Stored] {
        try ApplicationStore.run(connection) { try $0.execute("SELECT \(columns) FROM notification_channel ORDER BY id").rows }.map(stored)
    }

    public static func get(_ id: Int, on connection: PostgresConnection) throws(StoreError) -> Stored? {
        try ApplicationStore.run(connection) {
            try $0.execute("SELECT \(columns) FROM notification_channel WHERE id = $1::integer", [String(id)]).rows
        }.first.map(stored)
    }

    static func get(named name: String, on connection: PostgresConnection) throws(StoreError) -> Stored? {
        try ApplicationStore.run(connection) {
            try $0.execute("SELECT \(columns) FROM notification_channel WHERE name = $1", [name]).rows
        }.first.map(stored)
    }

    /// Applies `change` to the stored channel and stores the result (validated); nil when there is
    /// no channel `id`. The kind cannot change: settings mean different things to different kinds.
    public static func update(
        _ id: Int, on connection: PostgresConnection, _ change: (inout NotificationChannel) throws(StoreError) -> Void
    ) throws(StoreError) -> Stored? {
        guard let current = try get(id, on: connection) else { return nil }
        var channel = current.channel
        try change(&channel)
        guard channel.kind == current.channel.kind else { throw .invalid("kind", "cannot change; create a new channel instead") }
        do throws(NotificationChannel.Invalid) { try channel.validate() } catch { throw invalid(error) }
        if channel.name != current.channel.name, try get(named: channel.name, on: connection) != nil {
            throw .conflict("a channel named \"\(channel.name)\" exists already")
        }
        let rows = try ApplicationStore.run(connection) {
            try $0.execute("""
                UPDATE notification_channel SET kind = $1, name = $2, settings = $3::jsonb, secret = $4, enabled = $5::boolean,
                    filter_events = $6::text[], filter_labels = $7::jsonb, title_template = $8, body_template = $9, updated_at = now()
                WHERE id = $10::integer RETURNING \(columns)
                """, parameters(channel) + [String(id)]).rows
        }
        return rows.first.map(stored)
    }

    /// Deletes channel `id` and what it still owed; false when there was none.
    public static func delete(_ id: Int, on connection: PostgresConnection) throws(StoreError) -> Bool {
        let rows = try ApplicationStore.run(connection) {
            try $0.execute("DELETE FROM notification_channel WHERE id = $1::integer RETURNING id", [String(id)]).rows
        }
        return !rows.isEmpty
    }

    /// The channel `heartbeat serve --webhook-url URL` stands for.
    public static func bootstrapName(forWebhook url: String) -> String { String("webhook \(url)".prefix(200)) }

    /// Makes each of `urls` an enabled webhook channel signed with `secret` (created, or updated
    /// in place so its id and counts stay): the serve flags as a bootstrap of channels as data.
    public static func bootstrapWebhooks(_ urls: [String], secret: String, on connection: PostgresConnection) throws(StoreError) {
        for url in urls {
            let channel = NotificationChannel(kind: WebhookKind.name, name: bootstrapName(forWebhook: url), settings: ["url": url], secret: secret)
            do throws(NotificationChannel.Invalid) { try channel.validate() } catch { throw invalid(error) }
            _ = try ApplicationStore.run(connection) {
                try $0.execute("""
                    INSERT INTO notification_channel (kind, name, settings, secret, enabled, filter_events, filter_labels, title_template, body_template)
                    VALUES ($1, $2, $3::jsonb, $4, $5::boolean, $6::text[], $7::jsonb, $8, $9)
                    ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, settings = EXCLUDED.settings, secret = EXCLUDED.secret,
                        enabled = true, updated_at = now()
                    """, parameters(channel))
            }
        }
    }
}
