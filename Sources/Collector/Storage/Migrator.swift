/// One versioned schema change (a file `Spec/schema/NNNN_name.sql`).
public struct Migration: Sendable {
    /// 1, 2, 3, … in the order migrations apply.
    public let version: Int
    /// The file name's words, e.g. `initial`.
    public let name: String
    /// The statements, run in one transaction.
    public let sql: String
}

/// Applies pending migrations, each in its own transaction, under a PostgreSQL advisory lock so
/// that several collectors starting at once apply each migration exactly once.
public struct Migrator {
    /// The advisory lock key (any constant the application owns; "HBMIGRATE" in ASCII, truncated).
    static let lockKey: Int64 = 0x4842_4D49_4752_4154

    /// The migrations this build knows, in order.
    public let migrations: [Migration]

    /// A migrator for `migrations` (by default the ones built in from `Spec/schema/`).
    public init(migrations: [Migration] = EmbeddedMigrations.all) {
        precondition(
            migrations.enumerated().allSatisfy { $0.element.version == $0.offset + 1 },
            "migrations are numbered 1, 2, 3, … without gaps")
        self.migrations = migrations
    }

    /// Versions already applied to the database behind `connection` (empty for a new database).
    public func appliedVersions(on connection: PostgresConnection) throws(PostgresError) -> [Int] {
        try connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        return try connection.execute("SELECT version FROM schema_migration ORDER BY version").rows.compactMap { $0.int("version") }
    }

    /// Applies every migration not yet applied and returns the versions it applied.
    ///
    /// Fails, changing nothing further, when the database has a version this build does not know
    /// (a newer collector migrated it; running an older one against it would be unsafe).
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws(PostgresError) -> [Int] {
        try connection.execute("SELECT pg_advisory_lock($1::bigint)", [String(Self.lockKey)])
        var applied = [Int]()
        do throws(PostgresError) {
            let existing = Set(try appliedVersions(on: connection))
            if let unknown = existing.subtracting(migrations.map(\.version)).max() {
                throw PostgresError(
                    operation: "migrate",
                    message: "the database is at schema version \(unknown), newer than this build knows (\(migrations.count)); upgrade heartbeat")
            }
            for migration in migrations where !existing.contains(migration.version) {
                do throws(PostgresError) {
                    try connection.query("BEGIN")
                    try connection.query(migration.sql)
                    try connection.query(
                        "INSERT INTO schema_migration (version, name) VALUES (\(migration.version), '\(migration.name)')")
                    try connection.query("COMMIT")
                    applied.append(migration.version)
                } catch {
                    _ = try? connection.query("ROLLBACK")
                    throw PostgresError(
                        operation: "migration \(migration.version) (\(migration.name))", message: error.message)
                }
            }
        } catch {
            _ = try? connection.execute("SELECT pg_advisory_unlock($1::bigint)", [String(Self.lockKey)])
            throw error
        }
        try connection.execute("SELECT pg_advisory_unlock($1::bigint)", [String(Self.lockKey)])
        return applied
    }
}
