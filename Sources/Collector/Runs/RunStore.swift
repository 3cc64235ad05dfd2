/// One event of a job run that an HTTP ping reported (`Spec/http-ping.md`, "Runs").
public struct RunEvent: Sendable, Equatable {
    /// What the ping said about the run.
    public enum Kind: Sendable, Equatable {
        case start
        /// A success (exit status 0 or `/success`) or a failure (`/fail`: no status; `/N`: N).
        case end(success: Bool, exitStatus: Int32?)
        /// Output on its own (`/log`): an entry that changes no state.
        case log
    }

    public var applicationID: Int
    public var kind: Kind
    /// The job's run id (`?rid=`), nil without one.
    public var runKey: String?
    public var instance: UInt32
    public var atMicros: Int64
    public var output: CapturedOutput?

    public init(applicationID: Int, kind: Kind, runKey: String?, instance: UInt32, atMicros: Int64, output: CapturedOutput?) {
        self.applicationID = applicationID
        self.kind = kind
        self.runKey = runKey
        self.instance = instance
        self.atMicros = atMicros
        self.output = output
    }
}

/// A stored run, as the runs API shows it.
public struct StoredRun: Sendable, Equatable {
    public var id: Int64
    public var outcome: String
    public var runKey: String?
    public var instance: Int64
    public var startedAtMicros: Int64?
    public var endedAtMicros: Int64?
    public var exitStatus: Int?
    public var outputBytes: Int64
    public var outputTruncated: Bool
    /// The stored output; nil in listings (read it with ``RunStore/output(applicationID:runID:on:)``).
    public var output: String?

    public init(
        id: Int64, outcome: String, runKey: String?, instance: Int64, startedAtMicros: Int64?, endedAtMicros: Int64?, exitStatus: Int?,
        outputBytes: Int64, outputTruncated: Bool, output: String?
    ) {
        self.id = id
        self.outcome = outcome
        self.runKey = runKey
        self.instance = instance
        self.startedAtMicros = startedAtMicros
        self.endedAtMicros = endedAtMicros
        self.exitStatus = exitStatus
        self.outputBytes = outputBytes
        self.outputTruncated = outputTruncated
        self.output = output
    }
}

/// `job_run`: writing a ping's run event (pairing an end with its start), keeping each
/// application's newest runs only, and reading them back. Every value is a libpq parameter.
public enum RunStore {
    /// Records `event`; returns the run's id and how many old runs the per-application cap
    /// (`keep`) deleted.
    public static func record(_ event: RunEvent, keep: Int, on connection: PostgresConnection) throws(StoreError) -> (id: Int64, pruned: Int) {
        let at = CivilCalendar.rfc3339(micros: event.atMicros)
        let output = event.output
        let outputParameters: [String?] = [output?.storedText, String(output?.receivedBytes ?? 0), output?.isTruncated == true ? "true" : "false"]
        let base: [String?] = [String(event.applicationID), event.runKey, String(event.instance), at]
        let id: Int64?
        switch event.kind {
        case .start:
            id = try ApplicationStore.run(connection) {
                try $0.execute("""
                    INSERT INTO job_run (application_id, run_key, instance, started_at, outcome)
                    VALUES ($1::integer, $2, $3::bigint, $4::timestamptz, 'running') RETURNING id
                    """, base)
            }.first?.int64("id")
        case .log:
            id = try ApplicationStore.run(connection) {
                try $0.execute("""
                    INSERT INTO job_run (application_id, run_key, instance, ended_at, outcome, output, output_bytes, output_truncated)
                    VALUES ($1::integer, $2, $3::bigint, $4::timestamptz, 'log', $5, $6::bigint, $7::boolean) RETURNING id
                    """, base + outputParameters)
            }.first?.int64("id")
        case .end(let success, let exitStatus):
            // The newest open run of the same application, instance and run id is closed; with none
            // open, the end is a run of its own (a cron line that pings only when it finishes).
            id = try ApplicationStore.run(connection) {
                try $0.execute("""
                    WITH open AS (
                        SELECT id FROM job_run
                        WHERE application_id = $1::integer AND instance = $3::bigint AND outcome = 'running' AND run_key IS NOT DISTINCT FROM $2
                        ORDER BY id DESC LIMIT 1 FOR UPDATE),
                    closed AS (
                        UPDATE job_run AS r SET ended_at = $4::timestamptz, outcome = $8, exit_status = $9::integer,
                            output = $5, output_bytes = $6::bigint, output_truncated = $7::boolean
                        FROM open WHERE r.id = open.id RETURNING r.id),
                    added AS (
                        INSERT INTO job_run (application_id, run_key, instance, ended_at, outcome, exit_status, output, output_bytes, output_truncated)
                        SELECT $1::integer, $2, $3::bigint, $4::timestamptz, $8, $9::integer, $5, $6::bigint, $7::boolean
                        WHERE NOT EXISTS (SELECT 1 FROM closed) RETURNING id)
                    SELECT id FROM closed UNION ALL SELECT id FROM added
                    """, base + outputParameters + [success ? "success" : "fail", exitStatus.map { String($0) }])
            }.first?.int64("id")
        }
        guard let id else { throw .database(PostgresError(operation: "record a run", message: "no id returned")) }
        let pruned = try ApplicationStore.run(connection) {
            try $0.execute("""
                DELETE FROM job_run WHERE application_id = $1::integer AND id <= (
                    SELECT id FROM job_run WHERE application_id = $1::integer ORDER BY id DESC OFFSET $2::integer LIMIT 1)
                RETURNING id
                """, [String(event.applicationID), String(max(keep, 1))])
        }.rows.count
        return (id, pruned)
    }

    /// The application's runs, newest first, at most `limit`, older than run `before` when given
    /// (output not included).
    public static func runs(applicationID: Int, limit: Int, before: Int64?, on connection: PostgresConnection) throws(StoreError) -> [StoredRun] {
        try ApplicationStore.run(connection) {
            try $0.execute("""
                SELECT id, outcome, run_key, instance, output_bytes, output_truncated, exit_status,
                       (extract(epoch FROM started_at) * 1000000)::bigint AS started_us, (extract(epoch FROM ended_at) * 1000000)::bigint AS ended_us
                FROM job_run WHERE application_id = $1::integer AND ($3::bigint IS NULL OR id < $3::bigint)
                ORDER BY id DESC LIMIT $2::integer
                """, [String(applicationID), String(limit), before.map { String($0) }])
        }.rows.compactMap { run(from: $0, withOutput: false) }
    }

    /// One run with its output; nil when the application has no such run.
    public static func output(applicationID: Int, runID: Int64, on connection: PostgresConnection) throws(StoreError) -> StoredRun? {
        try ApplicationStore.run(connection) {
            try $0.execute("""
                SELECT id, outcome, run_key, instance, output_bytes, output_truncated, exit_status, output,
                       (extract(epoch FROM started_at) * 1000000)::bigint AS started_us, (extract(epoch FROM ended_at) * 1000000)::bigint AS ended_us
                FROM job_run WHERE application_id = $1::integer AND id = $2::bigint
                """, [String(applicationID), String(runID)])
        }.rows.first.flatMap { run(from: $0, withOutput: true) }
    }

    /// Deletes runs older than `days` (at most 10,000 a statement, repeated); returns how many.
    public static func expire(olderThanDays days: Int, on connection: PostgresConnection) throws(StoreError) -> Int {
        var total = 0
        while true {
            let deleted = try ApplicationStore.run(connection) {
                try $0.execute("""
                    DELETE FROM job_run WHERE id IN (
                        SELECT id FROM job_run WHERE created_at < now() - make_interval(days => $1::integer) LIMIT 10000)
                    RETURNING id
                    """, [String(days)])
            }.rows.count
            total += deleted
            if deleted < 10_000 { return total }
        }
    }

    private static func run(from row: QueryRow, withOutput: Bool) -> StoredRun? {
        guard let id = row.int64("id"), let outcome = row["outcome"] else { return nil }
        return StoredRun(
            id: id, outcome: outcome, runKey: row["run_key"], instance: row.int64("instance") ?? 0, startedAtMicros: row.int64("started_us"),
            endedAtMicros: row.int64("ended_us"), exitStatus: row.int("exit_status"), outputBytes: row.int64("output_bytes") ?? 0,
            outputTruncated: row["output_truncated"] == "t", output: withOutput ? row["output"] : nil)
    }
}
