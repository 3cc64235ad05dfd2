/// Keeps a table's daily partitions (`heartbeat_event`'s, or `heartbeat_rollup_minute`'s):
/// creates them ahead of time and drops those whose whole day is older than the retention.
/// Partitions are named `<table>_YYYYMMDD` and cover [midnight UTC, next midnight UTC).
///
/// Creating is idempotent and safe to run from several collectors at once (`IF NOT EXISTS`, and a
/// race that loses is ignored); dropping is `IF EXISTS`.
public struct PartitionMaintainer: Sendable {
    /// The partitioned tables this maintainer may keep: their names go into DDL, so only these.
    public enum Table: String, Sendable {
        case heartbeatEvent = "heartbeat_event"
        case rollupMinute = "heartbeat_rollup_minute"
    }

    /// The partitioned table kept.
    public let table: Table
    /// Days of partitions kept ready after today (the issue asks for at least 2).
    public let daysAhead: Int
    /// Days of history kept; a partition is dropped once its whole day is older than this.
    public let retentionDays: Int

    public static let microsPerDay: Int64 = 86_400_000_000

    /// - Precondition: `daysAhead` ≥ 1 and `retentionDays` ≥ 1.
    public init(table: Table = .heartbeatEvent, daysAhead: Int = 2, retentionDays: Int = 7) {
        self.table = table
        precondition(daysAhead >= 1, "partitions must be created at least a day ahead")
        precondition(retentionDays >= 1, "retention is at least one day")
        self.daysAhead = daysAhead
        self.retentionDays = retentionDays
    }

    /// Creates the partitions from yesterday (for records that straddle midnight) through
    /// `daysAhead` days after the day of `nowMicros`, and drops expired ones. Returns the names
    /// created and dropped.
    @discardableResult
    public func maintain(_ connection: PostgresConnection, nowMicros: Int64) throws(PostgresError) -> (created: [String], dropped: [String]) {
        let today = Self.day(ofMicros: nowMicros)
        let created = try createPartitions(days: Array((today - 1)...(today + Int64(daysAhead))), on: connection)
        var dropped = [String]()
        let oldestKept = today - Int64(retentionDays)
        let partitions = try connection.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass", [table.rawValue])
        for case let catalogName? in partitions.rows.map({ $0["relname"] }) {
            guard let day = day(ofPartition: catalogName), day < oldestKept else { continue }
            // The name is made again from the day number: DDL takes no parameters, so only digits we wrote go into it.
            let name = partitionName(day: day)
            try connection.query("DROP TABLE IF EXISTS \(name)")
            dropped.append(name)
        }
        return (created, dropped)
    }

    /// Creates the partitions of `days` (days since 1970-01-01) that do not exist yet; returns the
    /// names created. Names and bounds are made from day numbers here, never from input text.
    @discardableResult
    public func createPartitions(days: [Int64], on connection: PostgresConnection) throws(PostgresError) -> [String] {
        var created = [String]()
        for day in days {
            let name = partitionName(day: day)
            let exists = try connection.execute("SELECT 1 FROM pg_class WHERE relname = $1", [name])
            guard exists.isEmpty else { continue }
            do throws(PostgresError) {
                try connection.query(
                    "CREATE TABLE IF NOT EXISTS \(name) PARTITION OF \(table.rawValue) FOR VALUES FROM ('\(Self.isoDate(day: day))') TO ('\(Self.isoDate(day: day + 1))')")
                created.append(name)
            } catch {
                // Another collector created it between our check and our CREATE (42P07, or 23505
                // on the catalog's unique index when both ran at once).
                guard error.sqlState == "42P07" || error.sqlState == "23505" || error.message.contains("already exists") else { throw error }
            }
        }
        return created
    }

    /// Days since 1970-01-01 of a Unix time in microseconds.
    static func day(ofMicros micros: Int64) -> Int64 {
        micros >= 0 ? micros / microsPerDay : (micros - microsPerDay + 1) / microsPerDay
    }

    /// `<table>_YYYYMMDD` for a day number.
    func partitionName(day: Int64) -> String {
        table.rawValue + "_" + Self.isoDate(day: day).filter { $0 != "-" }
    }

    /// The day number of a partition name, or `nil` when the name is not one of this table's.
    func day(ofPartition name: String) -> Int64? {
        guard name.hasPrefix(table.rawValue + "_") else { return nil }
        let digits = name.dropFirst(table.rawValue.count + 1)
        guard digits.count == 8, let year = Int64(digits.prefix(4)), let month = Int64(digits.dropFirst(4).prefix(2)),
            let dayOfMonth = Int64(digits.suffix(2))
        else { return nil }
        return CivilCalendar.daysFromCivil(year: year, month: month, day: dayOfMonth)
    }

    /// `YYYY-MM-DD` of a day number (proleptic Gregorian, UTC).
    static func isoDate(day: Int64) -> String {
        let date = CivilCalendar.civilFromDays(day)
        return "\(CivilCalendar.zeroPadded(date.year, 4))-\(CivilCalendar.zeroPadded(date.month, 2))-\(CivilCalendar.zeroPadded(date.day, 2))"
    }
}
