/// Incidents in PostgreSQL (`Spec/liveness.md`, "Incident hold"): the monitor that acts records
/// each one it opens and closes; closing releases what the incident held as one grouped
/// notification per channel. Each step is conditional, so a monitor that takes over mid-incident,
/// or two degraded ones, record it once.
public enum IncidentStore {
    /// One incident as the API shows it.
    public struct Record: Sendable, Equatable {
        public let id: Int64
        public let openedAtMicros: Int64
        public let cause: String
        public let lateInWindow: Int
        public let closedAtMicros: Int64?
        public let ending: String?
        /// How many applications its grouped notifications named (nil while open).
        public let applicationsDown: Int?
        /// Notifications it holds now (while open).
        public let held: Int
    }

    /// The newest `limit` incidents, newest first (an open one is the newest).
    public static func recent(limit: Int, on connection: PostgresConnection) throws(StoreError) -> [Record] {
        try ApplicationStore.run(connection) {
            try $0.execute("""
                SELECT id, (extract(epoch FROM opened_at) * 1000000)::bigint AS opened_us, cause, late_in_window,
                       (extract(epoch FROM closed_at) * 1000000)::bigint AS closed_us, ending, applications_down,
                       (SELECT count(*) FROM notification WHERE notification.incident_id = incident.id AND notification.state = 'held') AS held
                FROM incident ORDER BY id DESC LIMIT $1::integer
                """, [String(limit)])
        }.rows.compactMap { row in
            guard let id = row.int64("id"), let opened = row.int64("opened_us"), let cause = row["cause"] else { return nil }
            return Record(
                id: id, openedAtMicros: opened, cause: cause, lateInWindow: row.int("late_in_window") ?? 0, closedAtMicros: row.int64("closed_us"),
                ending: row["ending"], applicationsDown: row.int("applications_down"), held: row.int("held") ?? 0)
        }
    }

    /// Records `open` (or finds the incident already open in the cluster); returns its id, and
    /// whether this call recorded it (a monitor that takes over finds its predecessor's).
    static func open(_ open: IncidentDetector.Open, on connection: PostgresConnection) throws(PostgresError) -> (id: Int64?, recorded: Bool) {
        let inserted = try connection.execute("""
            INSERT INTO incident (opened_at, cause, late_in_window) VALUES (to_timestamp($1::bigint / 1000000.0), $2, $3::integer)
            ON CONFLICT ((closed_at IS NULL)) WHERE closed_at IS NULL DO NOTHING
            RETURNING id
            """, [String(open.openedAtMicros), open.cause.rawValue, String(open.lateInWindow)])
        if let id = inserted.rows.first?.int64("id") { return (id, true) }
        return (try openID(on: connection), false)
    }

    /// The statement that closes an incident. Parameters: its id, the ending, when (Unix µs), the
    /// applications a silence covers now (their held notifications go back to the silence).
    static let closeStatement = """
        WITH still_down AS (
            -- Read before this statement's changes (one snapshot): what the incident holds.
            SELECT application.id, application.uuid, application.name, application.status, application.labels, application.last_heartbeat
            FROM application
            WHERE application.id IN (
                    SELECT application_id FROM notification
                    WHERE incident_id = $1::bigint AND state = 'held' AND NOT (application_id = ANY ($4::int[])))
              AND application.status IN ('down', 'late') AND NOT application.auto_registered),
        closed AS (
            UPDATE incident SET closed_at = to_timestamp($3::bigint / 1000000.0), ending = $2,
                                applications_down = (SELECT count(*) FROM still_down)
            WHERE id = $1::bigint AND closed_at IS NULL
            RETURNING id, opened_at, closed_at, cause, ending),
        handed_back AS (
            UPDATE notification SET incident_id = NULL, updated_at = now()
            WHERE incident_id = $1::bigint AND state = 'held' AND application_id = ANY ($4::int[]) AND EXISTS (SELECT 1 FROM closed)),
        superseded AS (
            UPDATE notification SET state = 'silenced', deliveries_owed = 0, updated_at = now()
            WHERE incident_id = $1::bigint AND state = 'held' AND NOT (application_id = ANY ($4::int[])) AND EXISTS (SELECT 1 FROM closed)),
        per_channel AS (
            SELECT channel.id AS channel_id, nextval(pg_get_serial_sequence('notification', 'id')) AS notification_id,
                   count(*) AS applications,
                   json_agg(json_build_object(
                       'app', still_down.uuid, 'name', still_down.name, 'status', still_down.status,
                       'last_heartbeat', \(NotificationSQL.time("still_down.last_heartbeat")),
                       'labels', still_down.labels) ORDER BY still_down.name, still_down.id) AS list
            FROM notification_channel AS channel JOIN still_down
                ON \(TransitionWriter.takes(event: "'down'", labels: "still_down.labels"))
            GROUP BY channel.id),
        queued AS (
            INSERT INTO notification (id, subject, event, payload, deliveries_owed, incident_id)
            OVERRIDING SYSTEM VALUE
            SELECT per_channel.notification_id, 'incident', 'down', json_build_object(
                       'id', closed.id, 'subject', 'incident', 'app', '00000000-0000-0000-0000-000000000000',
                       'name', per_channel.applications || ' applications (incident ' || closed.id || ')',
                       'from', 'up', 'to', 'down',
                       'at', \(NotificationSQL.time("closed.closed_at")),
                       'reason', 'incident ' || closed.id || ' (' || closed.cause || ') held their notifications from '
                           || to_char(closed.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' until '
                           || to_char(closed.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (' || closed.ending
                           || '); these are still not up',
                       'incident', json_build_object(
                           'id', closed.id, 'cause', closed.cause, 'ending', closed.ending,
                           'opened_at', \(NotificationSQL.time("closed.opened_at")),
                           'closed_at', \(NotificationSQL.time("closed.closed_at"))),
                       'count', per_channel.applications, 'applications', per_channel.list,
                       'run_duration_ms', NULL, 'last_heartbeat', NULL, 'labels', '{}'::json, 'silenced', false, 'log_tail', NULL)::text,
                   1, closed.id
            FROM per_channel, closed),
        reminded AS (
            -- The grouped release is the announcement: reminders start a period after it.
            UPDATE application SET reminded_at = now() WHERE id IN (SELECT id FROM still_down) AND EXISTS (SELECT 1 FROM closed)),
        deliveries AS (
            INSERT INTO notification_delivery (notification_id, channel_id, application_id)
            SELECT per_channel.notification_id, per_channel.channel_id, NULL FROM per_channel, closed)
        SELECT (SELECT count(*) FROM closed) AS closed, (SELECT count(*) FROM still_down) AS applications,
               (SELECT count(*) FROM per_channel) AS notifications
        """

    /// Closes incident `id` unless another monitor did; returns whether this one did, how many
    /// applications the grouped notifications name, and how many were queued (one per channel).
    static func close(
        _ id: Int64, _ ending: IncidentDetector.Ending, atMicros: Int64, silenced: [Int], on connection: PostgresConnection
    ) throws(PostgresError) -> (closed: Bool, applications: Int, notifications: Int) {
        let row = try connection.execute(closeStatement, [
            String(id), ending.rawValue, String(atMicros), PostgresConnection.arrayParameter(silenced.map { String($0) }),
        ]).rows.first
        return ((row?.int("closed") ?? 0) > 0, row?.int("applications") ?? 0, row?.int("notifications") ?? 0)
    }

    /// The open incident's id, if any.
    static func openID(on connection: PostgresConnection) throws(PostgresError) -> Int64? {
        try connection.execute("SELECT id FROM incident WHERE closed_at IS NULL").rows.first?.int64("id")
    }
}
