/// Keeps `heartbeat_event`'s daily partitions: creates them ahead of time and drops those whose
/// whole day is older than the retention. Partitions are named `heartbeat_event_YYYYMMDD` and
/// cover [midnight UTC, next midnight UTC).
///
/// Creating is idempotent and safe to run from several collectors at once (`IF NOT EXISTS`, and a
/// race that loses is ignored); dropping is `IF EXISTS`.
public struct PartitionMaintainer: Sendable {
    /// Days of partitions kept ready after today (the issue asks for at least 2).
    public let daysAhead: Int
    /// Days of history kept; a partition is dropped once its whole day is older than this.
    public let retentionDays: Int

    public static let microsPerDay: Int64 = 86_400_000_000

    /// - Precondition: `daysAhead` ≥ 1 and `retentionDays` ≥ 1.
    public init(daysAhead: Int = 2, retentionDays: Int = 7) {
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
        var created = [String]()
        for day in (today - 1)...(today + Int64(daysAhead)) {
            let name = Self.partitionName(day: day)
            let exists = try connection.query("SELECT 1 FROM pg_class WHERE relname = '\(name)'")
            guard exists.isEmpty else { continue }
            do throws(PostgresError) {
                try connection.query(
                    "CREATE TABLE IF NOT EXISTS \(name) PARTITION OF heartbeat_event FOR VALUES FROM ('\(Self.isoDate(day: day))') TO ('\(Self.isoDate(day: day + 1))')")
                created.append(name)
            } catch {
                // Another collector created it between our check and our CREATE.
                guard error.message.contains("already exists") else { throw error }
            }
        }
        var dropped = [String]()
        let oldestKept = today - Int64(retentionDays)
        let partitions = try connection.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'heartbeat_event'::regclass")
        for case let name? in partitions.map({ $0[0] }) {
            guard let day = Self.day(ofPartition: name), day < oldestKept else { continue }
            try connection.query("DROP TABLE IF EXISTS \(name)")
            dropped.append(name)
        }
        return (created, dropped)
    }

    /// Days since 1970-01-01 of a Unix time in microseconds.
    static func day(ofMicros micros: Int64) -> Int64 {
        micros >= 0 ? micros / microsPerDay : (micros - microsPerDay + 1) / microsPerDay
    }

    /// `heartbeat_event_YYYYMMDD` for a day number.
    static func partitionName(day: Int64) -> String {
        "heartbeat_event_" + isoDate(day: day).filter { $0 != "-" }
    }

    /// The day number of a partition name, or `nil` when the name is not one of ours.
    static func day(ofPartition name: String) -> Int64? {
        guard name.hasPrefix("heartbeat_event_") else { return nil }
        let digits = name.dropFirst("heartbeat_event_".count)
        guard digits.count == 8, let year = Int64(digits.prefix(4)), let month = Int64(digits.dropFirst(4).prefix(2)),
            let dayOfMonth = Int64(digits.suffix(2))
        else { return nil }
        return daysFromCivil(year: year, month: month, day: dayOfMonth)
    }

    /// `YYYY-MM-DD` of a day number (proleptic Gregorian, UTC).
    static func isoDate(day: Int64) -> String {
        let (year, month, dayOfMonth) = civilFromDays(day)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))"
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
