/// Reads and maintains the rollup tables: loss and counts over a window (every collector's rows
/// merged), and the daily rows derived from the minute rows.
public enum RollupStore {
    /// How far before a window the highest earlier sequence number is looked for.
    public static let lookbackMinutes: Int64 = 1_440
    public static let microsPerMinute: Int64 = 60_000_000

    /// Records counted in a window, merged over collectors and instances.
    public struct Counts: Equatable, Sendable {
        public var beats: Int64 = 0
        public var starts: Int64 = 0
        public var successes: Int64 = 0
        public var fails: Int64 = 0
        public var stops: Int64 = 0
        public var records: Int64 { beats + starts + successes + fails + stops }
        public init() {}
    }

    /// An application's loss (summed over its instances) and counts in [fromMinute, toMinute),
    /// minutes since 1970-01-01 UTC. Rows are written each minute, so the current minute is not
    /// in them yet.
    public static func loss(
        applicationID: Int, fromMinute: Int64, toMinute: Int64, lookbackMinutes: Int64 = lookbackMinutes, on connection: PostgresConnection
    ) throws(StoreError) -> (loss: RollupLoss, counts: Counts, instances: Int) {
        var loss = RollupLoss.none
        var counts = Counts()
        var instances = 0
        for instance in try perInstance(
            applicationID: applicationID, fromMinute: fromMinute, toMinute: toMinute, lookbackMinutes: lookbackMinutes, on: connection)
        {
            loss = loss + instance.loss
            counts.beats += instance.counts.beats
            counts.starts += instance.counts.starts
            counts.successes += instance.counts.successes
            counts.fails += instance.counts.fails
            counts.stops += instance.counts.stops
            // Instances only seen before the window are not the window's.
            if instance.counts.records > 0 { instances += 1 }
        }
        return (loss, counts, instances)
    }

    /// Every application's loss in [fromMinute, toMinute) at once (for the delivery check), with a
    /// short lookback: an instance silent longer counts from its first number in the window.
    public static func lossByApplication(
        fromMinute: Int64, toMinute: Int64, lookbackMinutes: Int64, on connection: PostgresConnection
    ) throws(StoreError) -> [Int: RollupLoss] {
        var byApplication = [Int: RollupLoss]()
        for instance in try perInstance(
            applicationID: nil, fromMinute: fromMinute, toMinute: toMinute, lookbackMinutes: lookbackMinutes, on: connection)
        {
            byApplication[instance.applicationID, default: .none] = byApplication[instance.applicationID, default: .none] + instance.loss
        }
        return byApplication
    }

    /// One (application, instance)'s merged figures in a window.
    struct InstanceFigures {
        let applicationID: Int
        let loss: RollupLoss
        let counts: Counts
    }

    /// Every collector's minute rows in [fromMinute − lookback, toMinute) merged per (application,
    /// instance) — of one application, or of all — with the window's counts and sequence bounds
    /// and the highest sequence before it.
    static func perInstance(
        applicationID: Int?, fromMinute: Int64, toMinute: Int64, lookbackMinutes: Int64, on connection: PostgresConnection
    ) throws(StoreError) -> [InstanceFigures] {
        let rows = try ApplicationStore.run(connection) {
            try $0.execute("""
                SELECT application_id, instance,
                       coalesce(sum(sequenced) FILTER (WHERE minute >= m.from_at), 0) AS received,
                       coalesce(sum(beats) FILTER (WHERE minute >= m.from_at), 0) AS beats,
                       coalesce(sum(starts) FILTER (WHERE minute >= m.from_at), 0) AS starts,
                       coalesce(sum(successes) FILTER (WHERE minute >= m.from_at), 0) AS successes,
                       coalesce(sum(fails) FILTER (WHERE minute >= m.from_at), 0) AS fails,
                       coalesce(sum(stops) FILTER (WHERE minute >= m.from_at), 0) AS stops,
                       min(seq_min) FILTER (WHERE minute >= m.from_at) AS window_min,
                       max(seq_max) FILTER (WHERE minute >= m.from_at) AS window_max,
                       max(seq_max) FILTER (WHERE minute < m.from_at) AS before_max
                FROM heartbeat_rollup_minute,
                     LATERAL (SELECT to_timestamp($2::bigint * 60) AS from_at) AS m
                WHERE ($1::integer IS NULL OR application_id = $1::integer)
                  AND minute >= to_timestamp(($2::bigint - $4::bigint) * 60) AND minute < to_timestamp($3::bigint * 60)
                GROUP BY application_id, instance
                """, [applicationID.map(String.init), String(fromMinute), String(toMinute), String(lookbackMinutes)])
        }.rows
        return rows.compactMap { row in
            guard let id = row.int("application_id") else { return nil }
            var counts = Counts()
            counts.beats = row.int64("beats") ?? 0
            counts.starts = row.int64("starts") ?? 0
            counts.successes = row.int64("successes") ?? 0
            counts.fails = row.int64("fails") ?? 0
            counts.stops = row.int64("stops") ?? 0
            let loss = RollupLoss.instance(
                received: row.int64("received") ?? 0, windowMin: row.int64("window_min"), windowMax: row.int64("window_max"),
                highestBefore: row.int64("before_max"))
            return InstanceFigures(applicationID: id, loss: loss, counts: counts)
        }
    }

    /// One application's minute rows in [fromMinute, toMinute) merged per (instance, minute), and
    /// for each instance one row at `fromMinute − 1` holding only its highest number in the
    /// lookback before the window, for ``RollupSeries/perMinute(_:fromMinute:toMinute:)``.
    public static func minuteRows(
        applicationID: Int, fromMinute: Int64, toMinute: Int64, lookbackMinutes: Int64 = lookbackMinutes, on connection: PostgresConnection
    ) throws(StoreError) -> [RollupSeries.Row] {
        // date_part (a double, exact for whole minutes), not extract (numeric, slower per row).
        try ApplicationStore.run(connection) {
            try $0.execute("""
                SELECT instance, date_part('epoch', minute)::bigint / 60 AS minute_index,
                       sum(beats + starts + successes + fails + stops) AS records, sum(sequenced) AS sequenced,
                       min(seq_min) AS seq_min, max(seq_max) AS seq_max
                FROM heartbeat_rollup_minute
                WHERE application_id = $1::integer AND minute >= to_timestamp($2::bigint * 60) AND minute < to_timestamp($3::bigint * 60)
                GROUP BY instance, minute
                UNION ALL
                SELECT instance, $2::bigint - 1, 0, 0, NULL, max(seq_max)
                FROM heartbeat_rollup_minute
                WHERE application_id = $1::integer
                  AND minute >= to_timestamp(($2::bigint - $4::bigint) * 60) AND minute < to_timestamp($2::bigint * 60)
                GROUP BY instance
                """, [String(applicationID), String(fromMinute), String(toMinute), String(lookbackMinutes)])
        }.rows.compactMap { row in
            guard let instance = row.int64("instance"), let minute = row.int64("minute_index") else { return nil }
            return RollupSeries.Row(
                instance: instance, minute: minute, records: row.int64("records") ?? 0, sequenced: row.int64("sequenced") ?? 0,
                seqMin: row.int64("seq_min"), seqMax: row.int64("seq_max"))
        }
    }

    /// Derives `day`'s daily rows (days since 1970-01-01) from its minute rows, unless it already
    /// has some: several collectors may try at once, and the loser's rows conflict and are skipped.
    /// Returns the rows inserted.
    @discardableResult
    public static func deriveDay(_ day: Int64, on connection: PostgresConnection) throws(StoreError) -> Int {
        let result = try ApplicationStore.run(connection) {
            try $0.execute("""
                WITH inserted AS (
                INSERT INTO heartbeat_rollup_day (application_id, instance, day, beats, starts, successes, fails, stops, sequenced,
                                                  seq_min, seq_max, first_at, last_at, delay_min_us, delay_max_us)
                SELECT application_id, instance, (to_timestamp($1::bigint * 86400) AT TIME ZONE 'UTC')::date,
                       sum(beats), sum(starts), sum(successes), sum(fails), sum(stops), sum(sequenced),
                       min(seq_min), max(seq_max), min(first_at), max(last_at), min(delay_min_us), max(delay_max_us)
                FROM heartbeat_rollup_minute
                WHERE minute >= to_timestamp($1::bigint * 86400) AND minute < to_timestamp(($1::bigint + 1) * 86400)
                  AND NOT EXISTS (SELECT 1 FROM heartbeat_rollup_day WHERE day = (to_timestamp($1::bigint * 86400) AT TIME ZONE 'UTC')::date)
                GROUP BY application_id, instance
                ON CONFLICT (application_id, day, instance) DO NOTHING
                RETURNING 1)
                SELECT count(*) AS rows FROM inserted
                """, [String(day)])
        }
        return result.first?.int("rows") ?? 0
    }

    /// Deletes daily rows older than `days` days; returns how many.
    @discardableResult
    public static func expireDays(olderThanDays days: Int, on connection: PostgresConnection) throws(StoreError) -> Int {
        try ApplicationStore.run(connection) {
            try $0.execute("""
                WITH deleted AS (DELETE FROM heartbeat_rollup_day WHERE day < (now() AT TIME ZONE 'UTC')::date - $1::integer RETURNING 1)
                SELECT count(*) AS rows FROM deleted
                """, [String(days)])
        }.first?.int("rows") ?? 0
    }
}
