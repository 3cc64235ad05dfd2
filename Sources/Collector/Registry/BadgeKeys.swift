import Protocol

/// Each application's badge key (`application.badge_key`, migration 10): the only thing a public
/// badge URL (`/badge/{key}.svg`) carries. 32 hex digits of a random uuid, unrelated to the
/// application's own uuid, so that a badge in a README reveals its state and uptime and nothing
/// else. Every application has one from its creation; rotating it retires the old URL at once.
public enum BadgeKeys {
    /// Whether `text` has a badge key's form (32 lowercase hex digits); anything else is looked up
    /// nowhere.
    public static func isWellFormed(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// The badge key of application `uuid` (nil when there is no such application).
    public static func key(of uuid: ApplicationUUID, on connection: PostgresConnection) throws(StoreError) -> String? {
        try ApplicationStore.run(connection) { try $0.execute("SELECT badge_key FROM application WHERE uuid = $1::uuid", ["\(uuid)"]) }.first?["badge_key"]
    }

    /// Gives application `uuid` a new badge key and returns it (nil when there is no such
    /// application). The old key stops working with this statement.
    public static func rotate(_ uuid: ApplicationUUID, on connection: PostgresConnection) throws(StoreError) -> String? {
        try ApplicationStore.run(connection) {
            try $0.execute("""
                UPDATE application SET badge_key = replace(gen_random_uuid()::text, '-', ''), updated_at = now()
                WHERE uuid = $1::uuid RETURNING badge_key
                """, ["\(uuid)"])
        }.first?["badge_key"]
    }

    /// The application whose badge key is `key`: its row id and uuid (nil for none, and for
    /// anything not shaped like a key).
    public static func application(forKey key: some StringProtocol, on connection: PostgresConnection) throws(StoreError) -> (id: Int, uuid: ApplicationUUID)? {
        guard isWellFormed(key) else { return nil }
        let row = try ApplicationStore.run(connection) { try $0.execute("SELECT id, uuid FROM application WHERE badge_key = $1", [String(key)]) }.first
        guard let row, let id = row.int("id"), let uuid = row["uuid"].flatMap({ ApplicationUUID($0) }) else { return nil }
        return (id, uuid)
    }
}
