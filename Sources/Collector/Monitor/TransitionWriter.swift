import Foundation

/// Records transitions in PostgreSQL exactly once, however many collectors see them: each is a
/// conditional UPDATE of `application.status` (`… WHERE status = <from>`), and only the rows that
/// UPDATE changed get their `status_change` row, inserted by the same statement. A collector that
/// loses the race changes nothing.
///
/// The same statement routes each won transition to the enabled channels whose filter selects it
/// (its event, the application's labels) and, when one does, queues it in the outbox: one
/// `notification` row holding the rendered JSON (`Spec/notifications.md`) and one
/// `notification_delivery` row per channel — so a recorded transition always has its
/// notifications queued, in the same transaction. An auto-registered application that no
/// operator has named yet is recorded without notifications. A transition a silence covers
/// (`Spec/liveness.md`, "Silences") is recorded marked `silenced`, and its notification is queued
/// `held`, with no delivery rows, until ``SilenceRelease`` decides what to do with it; while an
/// incident is open, every notification is held for it (``IncidentStore`` decides at its close).
///
/// All transitions of a tick go in one transaction, one set-based statement per round; a round
/// holds at most one transition per application (an application that went late and down in the
/// same tick needs two rounds, in order), since an UPDATE changes each row once.
struct TransitionWriter {
    /// A transition this collector won, with its notification.
    struct Recorded {
        let applicationID: Int
        let transition: LivenessTransition
        /// The JSON notification, as queued for channels and published on Redis (nil when nobody
        /// is notified: PostgreSQL renders it at a real cost, Spec/tuning.md).
        let payload: String?
    }

    /// The routing rule: whether `channel` takes a notification of `event` about an application
    /// labelled `labels` (SQL expressions), as ``NotificationChannel/takes(event:labels:)`` says.
    static func takes(event: String, labels: String) -> String {
        "channel.enabled AND (channel.filter_events IS NULL OR \(event) = ANY (channel.filter_events)) AND \(labels) @> channel.filter_labels"
    }

    /// The statement of one round. Parameters: six arrays (application id, from, to, at µs,
    /// reason, run duration ms), then whether to render the notification even when no channel
    /// takes it (for the Redis publication), then an array of whether each is silenced, then the
    /// open incident that holds every notification of the round (NULL: none).
    static let statement = """
        WITH input AS (
            SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $8::boolean[])
                AS t (id, from_status, to_status, at_micros, reason, run_duration_ms, silenced)),
        changed AS (
            UPDATE application SET status = input.to_status, updated_at = now()
            FROM input WHERE application.id = input.id AND application.status = input.from_status
            RETURNING input.*, application.uuid, application.name, application.auto_registered, application.labels,
                      application.last_heartbeat),
        inserted AS (
            INSERT INTO status_change (application_id, at, from_status, to_status, reason, run_duration_ms, silenced)
            SELECT id, to_timestamp(at_micros / 1000000.0), from_status, to_status, reason, run_duration_ms, silenced FROM changed
            RETURNING id, application_id),
        notice AS (
            SELECT changed.*, inserted.id AS change_id,
                   CASE WHEN changed.auto_registered THEN 0
                        ELSE (SELECT count(*) FROM notification_channel AS channel WHERE \(takes(event: "changed.to_status", labels: "changed.labels")))
                   END AS channels
            FROM inserted JOIN changed ON changed.id = inserted.application_id),
        rendered AS (
            SELECT notice.id, notice.to_status, notice.change_id, notice.channels, notice.silenced,
                   CASE WHEN NOT notice.auto_registered AND ($7::boolean OR notice.channels > 0) THEN
                       json_build_object(
                           'id', notice.change_id, 'app', notice.uuid, 'name', notice.name,
                           'from', notice.from_status, 'to', notice.to_status,
                           'at', to_char(to_timestamp(notice.at_micros / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           'reason', notice.reason, 'run_duration_ms', notice.run_duration_ms,
                           'last_heartbeat', to_char(notice.last_heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           'labels', notice.labels, 'silenced', notice.silenced,
                           -- The end of the newest job output stored since the application's previous
                           -- transition (an end ping stores its run before its record is queued).
                           'log_tail', (
                               SELECT right(run.output, 2000) FROM job_run AS run
                               WHERE run.application_id = notice.id AND run.output IS NOT NULL AND run.output <> ''
                                 AND run.created_at > coalesce((
                                     SELECT max(previous.at) FROM status_change AS previous
                                     WHERE previous.application_id = notice.id AND previous.id <> notice.change_id), '-infinity')
                               ORDER BY run.id DESC LIMIT 1))::text
                   END AS payload
            FROM notice),
        queued AS (
            INSERT INTO notification (event, application_id, status_change_id, payload, deliveries_owed, state, incident_id)
            SELECT to_status, id, change_id, payload, channels,
                   CASE WHEN silenced OR $9::bigint IS NOT NULL THEN 'held' ELSE 'pending' END, $9::bigint
            FROM rendered WHERE channels > 0
            RETURNING id, application_id, event, payload, state),
        deliveries AS (
            -- The same rule as the count above, over the same snapshot and the same labels (those
            -- the payload carries, which the count used): one delivery row per channel counted.
            \(NotificationSQL.deliveries(of: "queued", where: "queued.state = 'pending'")))
        SELECT id, to_status, payload FROM rendered
        """

    /// Writes `transitions` (in the order they happened), queueing each recorded one for the
    /// channels that take it (held, when `silenced` says a silence covers it); returns the ones
    /// this collector won, with their notification when `render` (or a channel) asks for it.
    static func write(
        _ transitions: [PendingTransition], silenced: (PendingTransition) -> Bool = { _ in false }, heldByIncident incident: Int64? = nil,
        render: Bool = false, on connection: PostgresConnection
    ) throws(PostgresError) -> [Recorded] {
        guard !transitions.isEmpty else { return [] }
        let rounds = rounds(of: transitions)
        // One transaction; each round is one statement whose values are array parameters. Arrays,
        // not a VALUES list: PostgreSQL plans large arrays far faster than a VALUES list as long
        // (Spec/tuning.md, "Monitor").
        var won = [String: String?]()
        do throws(PostgresError) {
            try connection.query("BEGIN")
            for (round, items) in rounds.enumerated() {
                let parameters: [String?] = [
                    PostgresConnection.arrayParameter(items.map { String($0.applicationID) }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.from.description }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.to.description }),
                    PostgresConnection.arrayParameter(items.map { String($0.transition.atMicros) }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.reason.rawValue }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.runDurationMicros.map { String($0 / 1_000) } }),
                    render ? "true" : "false",
                    PostgresConnection.arrayParameter(items.map { silenced($0) ? "true" : "false" }),
                    incident.map { String($0) },
                ]
                for row in try connection.execute(statement, parameters).rows {
                    if let id = row["id"], let to = row["to_status"] { won["\(round)/\(id)/\(to)"] = .some(row["payload"]) }
                }
            }
            try connection.query("COMMIT")
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        var result = [Recorded]()
        for (round, items) in rounds.enumerated() {
            for item in items {
                if let payload = won["\(round)/\(item.applicationID)/\(item.transition.to)"] {
                    result.append(Recorded(applicationID: item.applicationID, transition: item.transition, payload: payload))
                }
            }
        }
        return result
    }

    /// `transitions` split into rounds that each hold at most one transition per application,
    /// every application's transitions in their order (its first in round 0, its second in round 1,
    /// …): an UPDATE changes a row once, so late-then-down in one tick takes two statements.
    static func rounds(of transitions: [PendingTransition]) -> [[PendingTransition]] {
        var rounds = [[PendingTransition]]()
        var roundOf = [Int: Int]()
        for item in transitions {
            let round = (roundOf[item.applicationID] ?? -1) + 1
            roundOf[item.applicationID] = round
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(item)
        }
        return rounds
    }
}
