/// Records transitions in PostgreSQL exactly once, however many collectors see them: each is a
/// conditional UPDATE of `application.status` (`… WHERE status = <from>`), and only the statement
/// that changed the row inserts the `status_change` row, in the same statement. A collector that
/// loses the race changes nothing.
struct TransitionWriter {
    /// Writes `transitions` in one transaction; returns the ones this collector won.
    static func write(
        _ transitions: [(applicationID: Int, transition: LivenessTransition)], on connection: PostgresConnection
    ) throws(PostgresError) -> [(applicationID: Int, transition: LivenessTransition)] {
        guard !transitions.isEmpty else { return [] }
        var sql = "BEGIN;\n"
        for (id, transition) in transitions {
            let duration = transition.runDurationMicros.map { String($0 / 1_000) } ?? "NULL"
            sql += """
                WITH changed AS (
                    UPDATE application SET status = '\(transition.to)', updated_at = now()
                    WHERE id = \(id) AND status = '\(transition.from)' RETURNING id)
                INSERT INTO status_change (application_id, at, from_status, to_status, reason, run_duration_ms)
                SELECT id, to_timestamp(\(transition.atMicros) / 1000000.0), '\(transition.from)', '\(transition.to)',
                       '\(transition.reason.rawValue)', \(duration)
                FROM changed RETURNING application_id;

                """
        }
        sql += "COMMIT;"
        let results: [[[String?]]]
        do throws(PostgresError) {
            results = try connection.queryResults(sql)
        } catch {
            _ = try? connection.query("ROLLBACK")
            throw error
        }
        // results[0] is BEGIN; results[i + 1] is transition i's INSERT … RETURNING (one row if won).
        return transitions.enumerated().compactMap { index, transition in
            index + 1 < results.count && !results[index + 1].isEmpty ? transition : nil
        }
    }
}
