/// Reminders (`Spec/notifications.md`, "Reminders"): while an application stays `down`, its
/// channels hear about it again every `remind_every_ms` (the application's, or the collector's
/// `--remind-every` when it has none; 0 never).
///
/// Every collector's delivery worker runs ``queueDue(defaultEveryMillis:on:)`` about once a
/// second. Each reminder is queued once in the cluster: a conditional UPDATE stamps
/// `application.reminded_at`, and only the rows it changed get a notification, in the same
/// statement — a second collector running the same statement meanwhile re-reads the stamped row
/// and skips it. The first reminder comes one period after the application went down, each next
/// one a period after the last; a recovery ends them (the application is no longer `down`).
enum Reminders {
    /// The statement. Parameters: the default period in ms (0: none), the applications a
    /// silence covers now (not reminded while it does). The payload is the
    /// transition notification's, with `subject` `reminder`, `from` and `to` both `down`, `at` now,
    /// `reason` saying since when, and `down_since` and `reminder` (its number since then).
    static let statement = """
        WITH latest AS (
            SELECT application.id, change.id AS change_id, change.at AS down_since,
                   coalesce(application.remind_every_ms, $1::integer) AS every_ms
            FROM application
            CROSS JOIN LATERAL (
                SELECT id, at, to_status FROM status_change
                WHERE status_change.application_id = application.id ORDER BY at DESC, id DESC LIMIT 1) AS change
            WHERE application.status = 'down' AND NOT application.auto_registered
              AND coalesce(application.remind_every_ms, $1::integer) > 0 AND change.to_status = 'down'
              AND application.id <> ALL ($2::int[])
              -- Not while its down is held (a silence or an incident): the release announces it.
              AND NOT EXISTS (SELECT 1 FROM notification AS held WHERE held.status_change_id = change.id AND held.state = 'held')),
        due AS (
            UPDATE application SET reminded_at = now()
            FROM latest
            WHERE application.id = latest.id AND application.status = 'down'
              AND greatest(latest.down_since, coalesce(application.reminded_at, '-infinity'))
                  + make_interval(secs => latest.every_ms / 1000.0) <= now()
            RETURNING application.id, application.uuid, application.name, application.labels, application.last_heartbeat,
                      latest.change_id, latest.down_since, latest.every_ms),
        notice AS (
            SELECT due.*, (SELECT count(*) FROM notification_channel AS channel
                           WHERE \(TransitionWriter.takes(event: "'down'", labels: "due.labels"))) AS channels
            FROM due),
        queued AS (
            INSERT INTO notification (subject, event, application_id, status_change_id, payload, deliveries_owed)
            SELECT 'reminder', 'down', notice.id, notice.change_id, json_build_object(
                       'id', notice.change_id, 'subject', 'reminder', 'app', notice.uuid, 'name', notice.name,
                       'from', 'down', 'to', 'down',
                       'at', \(NotificationSQL.time("now()")),
                       'reason', 'still down since ' || to_char(notice.down_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       'down_since', \(NotificationSQL.time("notice.down_since")),
                       'reminder', floor(extract(epoch FROM now() - notice.down_since) * 1000 / notice.every_ms)::integer,
                       'run_duration_ms', NULL,
                       'last_heartbeat', \(NotificationSQL.time("notice.last_heartbeat")),
                       'labels', notice.labels, 'log_tail', NULL)::text,
                   notice.channels
            FROM notice WHERE notice.channels > 0
            RETURNING id, application_id, event, payload),
        deliveries AS (
            \(NotificationSQL.deliveries(of: "queued")))
        SELECT count(*) AS reminded FROM notice WHERE channels > 0
        """

    /// Queues every reminder that is due, except for applications `silenced` says a silence
    /// covers now; returns how many this collector queued.
    static func queueDue(
        defaultEveryMillis: Int, silenced: ActiveSilences? = nil, on connection: PostgresConnection
    ) throws(PostgresError) -> Int {
        var covered = [String]()
        if let silenced, !silenced.isEmpty {
            covered = try connection.execute("SELECT id FROM application WHERE status = 'down'").rows
                .compactMap { $0.int("id") }.filter { silenced.covering($0) != nil }.map { String($0) }
        }
        return try connection.execute(statement, [String(defaultEveryMillis), PostgresConnection.arrayParameter(covered)]).rows.first?.int("reminded") ?? 0
    }
}
