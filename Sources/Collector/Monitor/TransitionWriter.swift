/// Records transitions in PostgreSQL exactly once, however many collectors see them: each is a
/// conditional UPDATE of `application.status` (`… WHERE status = <from>`), and only the rows that
/// UPDATE changed get their `status_change` row, inserted by the same statement. A collector that
/// loses the race changes nothing.
///
/// All transitions of a tick go in one transaction, one set-based statement per round; a round
/// holds at most one transition per application (an application that went late and down in the
/// same tick needs two rounds, in order), since an UPDATE changes each row once.
struct TransitionWriter {
    /// Writes `transitions` (in the order they happened); returns the ones this collector won.
    static func write(
        _ transitions: [(applicationID: Int, transition: LivenessTransition)], on connection: PostgresConnection
    ) throws(PostgresError) -> [(applicationID: Int, transition: LivenessTransition)] {
        guard !transitions.isEmpty else { return [] }
        var rounds = [[(applicationID: Int, transition: LivenessTransition)]]()
        var roundOf = [Int: Int]()
        for item in transitions {
            let round = (roundOf[item.applicationID] ?? -1) + 1
            roundOf[item.applicationID] = round
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(item)
        }
        var sql = "BEGIN;\n"
        for round in rounds {
            // Arrays, not a VALUES list: PostgreSQL plans 100,000 array elements in ~10 ms but
            // a 100,000-row VALUES list in ~400 ms. Every value is a number or one of our fixed
            // names, so nothing needs quoting inside the array literals.
            func array(_ values: [String]) -> String { "'{" + values.joined(separator: ",") + "}'" }
            let ids = array(round.map { String($0.applicationID) })
            let from = array(round.map { $0.transition.from.description })
            let to = array(round.map { $0.transition.to.description })
            let at = array(round.map { String($0.transition.atMicros) })
            let reasons = array(round.map { $0.transition.reason.rawValue })
            let durations = array(round.map { $0.transition.runDurationMicros.map { String($0 / 1_000) } ?? "NULL" })
            sql += """
                WITH input AS (
                    SELECT * FROM unnest(\(ids)::int[], \(from)::text[], \(to)::text[], \(at)::bigint[], \(reasons)::text[], \(durations)::bigint[])
                        AS t (id, from_status, to_status, at_micros, reason, run_duration_ms)),
                changed AS (
                    UPDATE application SET status = input.to_status, updated_at = now()
                    FROM input WHERE application.id = input.id AND application.status = input.from_status
                    RETURNING input.*)
                INSERT INTO status_change (application_id, at, from_status, to_status, reason, run_duration_ms)
                SELECT id, to_timestamp(at_micros / 1000000.0), from_status, to_status, reason, run_duration_ms FROM changed
                RETURNING application_id, to_status;

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
        // results[0] is BEGIN; results[r + 1] holds round r's winners as (id, to_status).
        var won = Set<String>()
        for round in rounds.indices where round + 1 < results.count {
            for row in results[round + 1] {
                if let id = row[0], let to = row[1] { won.insert("\(round)/\(id)/\(to)") }
            }
        }
        var result = [(applicationID: Int, transition: LivenessTransition)]()
        for (round, items) in rounds.enumerated() {
            for item in items where won.contains("\(round)/\(item.applicationID)/\(item.transition.to)") {
                result.append(item)
            }
        }
        return result
    }
}
