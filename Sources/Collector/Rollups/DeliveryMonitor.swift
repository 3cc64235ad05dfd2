import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Loss-aware delivery, the shell: once a minute, on the collector that leads liveness, reads
/// every application's merged loss over the last ``windowMinutes`` minutes from the rollups,
/// asks ``DeliveryHealth`` what changed, and records each change once in the cluster — a
/// conditional UPDATE of `application.delivery_degraded`, and in the same statement its
/// `delivery_event` row and its notification for the channels that subscribe to the event
/// (`delivery_degraded`, `delivery_recovered`: only channels that name it, so a channel taking
/// every transition does not start receiving these). "The path is dropping packets", not "the
/// application is down".
final class DeliveryMonitor: ThreadedService, @unchecked Sendable {
    let threadName = "heartbeat-delivery"
    let serviceName = "delivery monitor"
    let worker = WorkerThread()
    static let windowMinutes: Int64 = 5
    /// Seconds into each minute the check runs: after every collector wrote the minute's rollups.
    static let offsetMicros: Int64 = 15_000_000

    private let databaseURL: String
    private let health: DeliveryHealth
    private let isLeader: @Sendable () -> Bool
    /// Changes this collector recorded, by event, and checks that failed.
    let degradedRecorded = ManagedAtomic<UInt64>(0)
    let recoveredRecorded = ManagedAtomic<UInt64>(0)
    let failedChecks = ManagedAtomic<UInt64>(0)

    init(databaseURL: String, health: DeliveryHealth, isLeader: @escaping @Sendable () -> Bool) {
        self.databaseURL = databaseURL
        self.health = health
        self.isLeader = isLeader
    }

    func run() {
        var connection: PostgresConnection?
        var next = Self.nextCheck(afterMicros: WallClock.nowMicros())
        while !worker.isStopRequested {
            usleep(100_000)
            let now = WallClock.nowMicros()
            guard now >= next else { continue }
            next = Self.nextCheck(afterMicros: now)
            guard isLeader() else { continue }
            do throws(StoreError) {
                if connection == nil || connection?.isConnected == false {
                    do throws(PostgresError) { connection = try PostgresConnection(url: databaseURL) } catch { throw .database(error) }
                }
                try check(nowMicros: now, on: connection!)
            } catch {
                connection = nil
                failedChecks.wrappingIncrement(ordering: .relaxed)
            }
        }
    }

    /// The next check time after `micros`: the next minute's start plus ``offsetMicros``.
    static func nextCheck(afterMicros micros: Int64) -> Int64 {
        let minute = RollupStore.microsPerMinute
        let candidate = (micros / minute) * minute + offsetMicros
        return candidate > micros ? candidate : candidate + minute
    }

    /// One check over the window of whole minutes before the one `nowMicros` falls in; returns
    /// the changes this collector recorded (a change another collector recorded first is not).
    @discardableResult
    func check(nowMicros: Int64, on connection: PostgresConnection) throws(StoreError) -> [DeliveryHealth.Action] {
        let toMinute = nowMicros / RollupStore.microsPerMinute
        let loss = try RollupStore.lossByApplication(
            fromMinute: toMinute - Self.windowMinutes, toMinute: toMinute, lookbackMinutes: Self.windowMinutes, on: connection)
        let degraded = Set(try ApplicationStore.run(connection) {
            try $0.execute("SELECT id FROM application WHERE delivery_degraded")
        }.rows.compactMap { $0.int("id") })
        var recorded = [DeliveryHealth.Action]()
        for action in health.decide(loss: loss, degraded: degraded) {
            guard try Self.record(action, windowMinutes: Self.windowMinutes, on: connection) else { continue }
            recorded.append(action)
            switch action {
            case .degrade: degradedRecorded.wrappingIncrement(ordering: .relaxed)
            case .recover: recoveredRecorded.wrappingIncrement(ordering: .relaxed)
            }
        }
        return recorded
    }

    /// The routing rule for delivery events: enabled channels whose events list names the event
    /// (never those that take every event) and whose label filter the application's labels contain.
    static func takes(event: String, labels: String) -> String {
        "channel.enabled AND channel.filter_events IS NOT NULL AND \(event) = ANY (channel.filter_events) AND \(labels) @> channel.filter_labels"
    }

    /// Parameters: application id, the new mark, expected, lost, the event, the window in
    /// seconds, the reason.
    static let statement = """
        WITH changed AS (
            UPDATE application SET delivery_degraded = $2::boolean, updated_at = now()
            WHERE id = $1::integer AND delivery_degraded = NOT $2::boolean
            RETURNING id, uuid, name, auto_registered, labels, status, last_heartbeat),
        recorded AS (
            INSERT INTO delivery_event (application_id, event, records_expected, records_lost)
            SELECT id, CASE WHEN $2::boolean THEN 'degraded' ELSE 'recovered' END, $3::bigint, $4::bigint FROM changed
            RETURNING id, application_id, at),
        notice AS (
            SELECT changed.*, recorded.id AS event_id, recorded.at,
                   CASE WHEN changed.auto_registered THEN 0
                        ELSE (SELECT count(*) FROM notification_channel AS channel WHERE \(takes(event: "$5::text", labels: "changed.labels")))
                   END AS channels
            FROM changed JOIN recorded ON recorded.application_id = changed.id),
        queued AS (
            INSERT INTO notification (subject, event, application_id, payload, deliveries_owed)
            SELECT 'delivery', $5::text, notice.id, json_build_object(
                       'id', notice.event_id, 'subject', 'delivery', 'app', notice.uuid, 'name', notice.name,
                       'from', CASE WHEN $2::boolean THEN 'delivery_ok' ELSE 'delivery_degraded' END, 'to', $5::text,
                       'at', to_char(notice.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                       'reason', $7::text, 'status', notice.status,
                       'records_expected', $3::bigint, 'records_lost', $4::bigint, 'window_s', $6::integer,
                       'run_duration_ms', NULL,
                       'last_heartbeat', to_char(notice.last_heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                       'labels', notice.labels, 'log_tail', NULL)::text,
                   notice.channels
            FROM notice WHERE notice.channels > 0
            RETURNING id, application_id, event, payload),
        deliveries AS (
            \(NotificationSQL.deliveries(of: "queued", rule: takes)))
        SELECT event_id FROM notice
        """

    /// Records one change unless another collector already did; whether this one did.
    static func record(_ action: DeliveryHealth.Action, windowMinutes: Int64, on connection: PostgresConnection) throws(StoreError) -> Bool {
        let (applicationID, loss, degraded) = switch action {
        case .degrade(let id, let loss): (id, loss, true)
        case .recover(let id, let loss): (id, loss, false)
        }
        let percent = String(format: "%.1f", loss.ratio * 100)
        let reason = degraded
            ? "\(loss.lost) of \(loss.expected) records lost over the last \(windowMinutes) minutes (\(percent) %): the path to the collector is dropping packets"
            : "\(loss.lost) of \(loss.expected) records lost over the last \(windowMinutes) minutes (\(percent) %): delivery has recovered"
        let rows = try ApplicationStore.run(connection) {
            try $0.execute(statement, [
                String(applicationID), degraded ? "true" : "false", String(loss.expected), String(loss.lost),
                degraded ? DeliveryEvent.degraded.rawValue : DeliveryEvent.recovered.rawValue, String(windowMinutes * 60), reason,
            ])
        }.rows
        return !rows.isEmpty
    }
}

/// The notification events of loss-aware delivery, as channels subscribe to them.
public enum DeliveryEvent: String, CaseIterable, Sendable {
    case degraded = "delivery_degraded"
    case recovered = "delivery_recovered"
}
