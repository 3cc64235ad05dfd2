import Foundation

/// Records transitions in PostgreSQL exactly once, however many collectors see them: each is a
/// conditional UPDATE of `application.status` (`… WHERE status = <from>`), and only the rows that
/// UPDATE changed get their `status_change` row, inserted by the same statement. A collector that
/// loses the race changes nothing.
///
/// The same statement renders each won transition as its notification (JSON, see
/// `Spec/notifications.md`) and, for every webhook URL, inserts it into the `webhook_delivery` outbox —
/// so a recorded transition always has its notifications queued, in the same transaction. An
/// auto-registered application that no operator has named yet is recorded without notifications.
///
/// All transitions of a tick go in one transaction, one set-based statement per round; a round
/// holds at most one transition per application (an application that went late and down in the
/// same tick needs two rounds, in order), since an UPDATE changes each row once.
struct TransitionWriter {
    /// A transition this collector won, with its notification.
    struct Recorded {
        let applicationID: Int
        let transition: LivenessTransition
        /// The JSON notification: published on Redis and POSTed to webhooks, byte for byte (nil
        /// when nobody is notified: PostgreSQL renders them at a real cost, Spec/tuning.md).
        let payload: String?
    }

    /// Writes `transitions` (in the order they happened), queueing a webhook delivery to each of
    /// `webhookURLs` for every one recorded; returns the ones this collector won, with their
    /// notification when `render` (or webhooks) asks for it.
    static func write(
        _ transitions: [PendingTransition], webhookURLs: [String] = [], render: Bool = false,
        on connection: PostgresConnection
    ) throws(PostgresError) -> [Recorded] {
        guard !transitions.isEmpty else { return [] }
        let rounds = rounds(of: transitions)
        let payload = render || !webhookURLs.isEmpty
            ? """
                json_build_object(
                        'id', inserted.id, 'app', changed.uuid, 'name', changed.name,
                        'from', changed.from_status, 'to', changed.to_status,
                        'at', to_char(to_timestamp(changed.at_micros / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                        'reason', changed.reason, 'run_duration_ms', changed.run_duration_ms)::text
                """
            : "NULL::text"
        // The webhook URLs are the statement's last parameter, after the six arrays.
        let outbox = webhookURLs.isEmpty
            ? ""
            : """
                ,
                outbox AS (
                    INSERT INTO webhook_delivery (status_change_id, application_id, url, payload)
                    SELECT notice.change_id, notice.id, target.url, notice.payload FROM notice CROSS JOIN unnest($7::text[]) AS target (url)
                    WHERE notice.payload IS NOT NULL)
                """
        let statement = """
            WITH input AS (
                SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
                    AS t (id, from_status, to_status, at_micros, reason, run_duration_ms)),
            changed AS (
                UPDATE application SET status = input.to_status, updated_at = now()
                FROM input WHERE application.id = input.id AND application.status = input.from_status
                RETURNING input.*, application.uuid, application.name, application.auto_registered),
            inserted AS (
                INSERT INTO status_change (application_id, at, from_status, to_status, reason, run_duration_ms)
                SELECT id, to_timestamp(at_micros / 1000000.0), from_status, to_status, reason, run_duration_ms FROM changed
                RETURNING id, application_id),
            notice AS (
                SELECT changed.id, changed.to_status, CASE WHEN changed.auto_registered THEN NULL ELSE \(payload) END AS payload,
                       inserted.id AS change_id
                FROM inserted JOIN changed ON changed.id = inserted.application_id)\(outbox)
            SELECT id, to_status, payload FROM notice
            """
        // One transaction; each round is one statement whose values are array parameters. Arrays,
        // not a VALUES list: PostgreSQL plans large arrays far faster than a VALUES list as long
        // (Spec/tuning.md, "Monitor").
        var won = [String: String?]()
        do throws(PostgresError) {
            try connection.query("BEGIN")
            for (round, items) in rounds.enumerated() {
                var parameters: [String?] = [
                    PostgresConnection.arrayParameter(items.map { String($0.applicationID) }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.from.description }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.to.description }),
                    PostgresConnection.arrayParameter(items.map { String($0.transition.atMicros) }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.reason.rawValue }),
                    PostgresConnection.arrayParameter(items.map { $0.transition.runDurationMicros.map { String($0 / 1_000) } }),
                ]
                if !webhookURLs.isEmpty { parameters.append(PostgresConnection.arrayParameter(webhookURLs)) }
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
