/// What happens to the notifications a silence held (`Spec/liveness.md`, "Silences"), once no
/// silence covers their application any more: the newest is released — delivered to the
/// channels that take it now — when the application is still `down` or `late` and that
/// notification is of its latest transition (it describes the state the application is in);
/// every other held one becomes `silenced` (kept, never sent). So an application that recovered
/// during the window is never announced, and one still failing is announced once.
///
/// Every collector's delivery worker runs it about once a second; each held row is decided once
/// in the cluster (a conditional UPDATE from `held`). Rows an open incident holds are the
/// incident's to decide (``IncidentStore``), not this.
enum SilenceRelease {
    /// The applications that have held notifications.
    static func heldApplications(on connection: PostgresConnection) throws(PostgresError) -> [Int] {
        try connection.execute("SELECT DISTINCT application_id FROM notification WHERE state = 'held' AND incident_id IS NULL AND application_id IS NOT NULL")
            .rows.compactMap { $0.int("application_id") }
    }

    /// The applications with notifications incident `id` holds.
    static func heldApplications(forIncident id: Int64, on connection: PostgresConnection) throws(PostgresError) -> [Int] {
        try connection.execute("SELECT DISTINCT application_id FROM notification WHERE incident_id = $1::bigint AND state = 'held'", [String(id)])
            .rows.compactMap { $0.int("application_id") }
    }

    /// The statement. Parameter: the applications no silence covers now.
    static let statement = """
        WITH candidates AS (
            SELECT notification.id, notification.application_id,
                   notification.id = max(notification.id) OVER (PARTITION BY notification.application_id)
                       AND application.status IN ('down', 'late')
                       AND notification.status_change_id = (
                           SELECT change.id FROM status_change AS change WHERE change.application_id = application.id
                           ORDER BY change.at DESC, change.id DESC LIMIT 1) AS announce
            FROM notification JOIN application ON application.id = notification.application_id
            WHERE notification.state = 'held' AND notification.incident_id IS NULL AND notification.application_id = ANY ($1::int[])),
        counted AS (
            SELECT candidates.*, CASE WHEN candidates.announce THEN (
                       SELECT count(*) FROM notification_channel AS channel
                       WHERE \(TransitionWriter.takes(event: "held.event", labels: "(held.payload::jsonb -> 'labels')"))) ELSE 0 END AS channels
            FROM candidates JOIN notification AS held ON held.id = candidates.id),
        decided AS (
            UPDATE notification
            SET state = CASE WHEN counted.channels > 0 THEN 'released' ELSE 'silenced' END,
                deliveries_owed = counted.channels, updated_at = now()
            FROM counted
            WHERE notification.id = counted.id AND notification.state = 'held' AND notification.incident_id IS NULL
            RETURNING notification.id, notification.application_id, notification.event, notification.payload, notification.state),
        deliveries AS (
            \(NotificationSQL.deliveries(of: "decided", where: "decided.state = 'released'"))),
        reminded AS (
            -- The release is the announcement: the first reminder comes a period after it.
            UPDATE application SET reminded_at = now()
            WHERE id IN (SELECT application_id FROM decided WHERE state = 'released'))
        SELECT count(*) FILTER (WHERE state = 'released') AS released, count(*) FILTER (WHERE state = 'silenced') AS dropped FROM decided
        """

    /// Decides the held notifications of `applications` (those no silence covers now); returns
    /// how many this collector released and dropped.
    static func release(_ applications: [Int], on connection: PostgresConnection) throws(PostgresError) -> (released: Int, dropped: Int) {
        guard !applications.isEmpty else { return (0, 0) }
        let row = try connection.execute(statement, [PostgresConnection.arrayParameter(applications.map { String($0) })]).rows.first
        return (row?.int("released") ?? 0, row?.int("dropped") ?? 0)
    }
}
