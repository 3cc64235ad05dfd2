import Atomics
import CMemory
import Foundation
import Protocol

/// Loads the registry from PostgreSQL into a ``RegistrySnapshot`` and keeps it current: a
/// background thread polls `registry_version` (a statement trigger bumps it on every change that
/// matters) every `pollMillis` and publishes a new snapshot when it moved — or when a rotated-out
/// secret's grace period ended — so changes reach the receivers within one poll period.
public final class RegistryLoader: @unchecked Sendable {
    /// Loading failed.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    public let holder: RegistryHolder
    private let databaseURL: String
    private let allowedSkewMicros: Int64
    private let pollMillis: Int
    private let worker = WorkerThread()
    /// Signalled to look at `registry_version` now rather than at the end of the poll period.
    private let wake = DispatchSemaphore(value: 0)
    /// Reloads that failed (PostgreSQL unreachable); the last good snapshot stays in force.
    public let failedReloads = ManagedAtomic<UInt64>(0)

    /// Loads the registry once (throwing when PostgreSQL cannot be read) and prepares to follow it.
    public init(databaseURL: String, allowedSkewMicros: Int64, pollMillis: Int = 250) throws(LoadError) {
        self.databaseURL = databaseURL
        self.allowedSkewMicros = allowedSkewMicros
        self.pollMillis = pollMillis
        do throws(PostgresError) {
            let connection = try PostgresConnection(url: databaseURL)
            holder = RegistryHolder(try Self.load(connection, allowedSkewMicros: allowedSkewMicros).snapshot)
        } catch {
            throw LoadError(description: "cannot load the registry: \(error)")
        }
    }

    /// Reads every application in one statement (one consistent view) and builds a snapshot; also
    /// returns when the next rotated-out secret expires (Unix µs), if any.
    public static func load(_ connection: PostgresConnection, allowedSkewMicros: Int64) throws(PostgresError) -> (snapshot: RegistrySnapshot, nextExpiryMicros: Int64?) {
        // One repeatable-read transaction: the version and the rows belong together.
        try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        var version: Int64 = 0
        var nextExpiry: Int64?
        var descriptors = [ApplicationDescriptor]()
        var profiles = ApplicationProfiles()
        var silences = [Silence]()
        do throws(PostgresError) {
            version = try connection.execute("SELECT version FROM registry_version").first?.int64("version") ?? 0
            let count = try connection.execute("SELECT count(*) AS count FROM application").first?.int("count") ?? 0
            descriptors.reserveCapacity(count)
            // Row by row: a million applications never sit in memory twice over.
            try connection.forEachRow("""
                SELECT id, uuid::text AS uuid, name, interval_ms, schedule_cron, schedule_time_zone, grace_ms, max_run_ms, is_active,
                       down_after, up_after, remind_every_ms, min_instances, CASE WHEN labels <> '{}'::jsonb THEN labels::text END AS labels, encode(secret, 'hex') AS secret,
                       CASE WHEN previous_secret_expires_at IS NULL OR previous_secret_expires_at > now()
                            THEN encode(previous_secret, 'hex') END AS previous_secret,
                       CASE WHEN previous_secret_expires_at > now()
                            THEN (extract(epoch FROM previous_secret_expires_at) * 1000000)::bigint END AS previous_expires_us,
                       (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
                FROM application
                """) { row in
                guard let id = row.int64("id"), let uuidText = row["uuid"], let uuid = ApplicationUUID(uuidText) else { return }
                let secret = row["secret"].flatMap { try? ApplicationSecret(hex: $0) }
                let previous = row["previous_secret"].flatMap { try? ApplicationSecret(hex: $0) }
                if let expiry = row.int64("previous_expires_us") { nextExpiry = min(nextExpiry ?? .max, expiry) }
                let enabled = row.bool("is_active") ?? false
                descriptors.append(ApplicationDescriptor(
                    uuid: uuid, applicationID: id, isEnabled: enabled, secret: secret, previousSecret: secret == nil ? nil : previous))
                profiles.append(ApplicationProfile(
                    applicationID: id, uuid: uuid, name: row["name"] ?? "", intervalMillis: row.int64("interval_ms") ?? 0,
                    graceMillis: row.int64("grace_ms") ?? 0, maxRunMillis: row.int64("max_run_ms"), isSigned: secret != nil, isEnabled: enabled,
                    createdAtMicros: row.int64("created_us") ?? 0,
                    schedule: ScheduleSpec(row)?.cached, labels: ApplicationLabels.decode(row["labels"]),
                    noise: NoiseSettings(
                        downAfter: row.int("down_after") ?? 1, upAfter: row.int("up_after") ?? 1, remindEveryMillis: row.int("remind_every_ms"),
                        minInstances: row.int("min_instances") ?? 1)))
            }
            silences = try SilenceStore.load(connection)
            try connection.query("COMMIT")
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        let snapshot = RegistrySnapshot(version: version, applications: descriptors, allowedSkewMicros: allowedSkewMicros, profiles: profiles, silences: silences)
        descriptors = []
        // Loading peaks at several times what the table keeps; give the difference back.
        _ = hb_release_free_memory()
        return (snapshot, nextExpiry)
    }

    /// Starts following changes.
    public func start() {
        worker.start(name: "heartbeat-registry") { [self] in follow() }
    }

    /// Stops following changes (the current snapshot stays in force).
    public func stop() {
        worker.stop()
    }

    /// Looks for a change now (after a write through the API, so the writer reads it back soon)
    /// instead of at the end of the poll period.
    public func checkNow() {
        wake.signal()
    }

    private func follow() {
        var connection: PostgresConnection?
        var nextExpiry: Int64?
        while !worker.isStopRequested {
            _ = wake.wait(timeout: .now() + .milliseconds(pollMillis))
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                guard let connection else { continue }
                let current = try connection.execute("SELECT version FROM registry_version").first?.int64("version")
                let expired = nextExpiry.map { $0 <= WallClock.nowMicros() } ?? false
                guard current != holder.snapshot.version || expired else { continue }
                let loaded = try Self.load(connection, allowedSkewMicros: allowedSkewMicros)
                holder.publish(loaded.snapshot)
                nextExpiry = loaded.nextExpiryMicros
            } catch {
                connection = nil
                failedReloads.wrappingIncrement(ordering: .relaxed)
            }
        }
    }
}

extension RegistryLoader: CollectorService {
    public var serviceName: String { "registry follower" }
}
