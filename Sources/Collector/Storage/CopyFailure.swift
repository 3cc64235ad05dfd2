/// What a failed COPY of heartbeat rows means for the rows, decided from the error's SQLSTATE
/// (`Spec/storage.md` holds the same table):
///
/// | SQLSTATE | meaning | what the writer does |
/// |---|---|---|
/// | class 22 (data exception), class 23 naming a constraint (a row's own check) | some row's *content* is refused | bisect the batch, store the rest, dead-letter the bad rows |
/// | 23514 naming no constraint | "no partition of relation … found for row" | create the rows' partitions and retry |
/// | none (client side), 08, 40, 53, 57, 58 and anything else | the database is unavailable or busy | spool the batch and retry later |
///
/// Anything not known to be the data's fault is treated as unavailability: retrying costs disk,
/// while dead-lettering good rows would lose them.
public enum CopyFailure: Equatable, Sendable {
    /// The rows' content: retrying cannot help.
    case badData
    /// A row's `received_at` has no partition yet.
    case missingPartition
    /// Connection, resource, operator or unknown errors: the batch is fine, retry later.
    case unavailable

    /// The meaning of a failure with `sqlState` that named `constraint`.
    public init(sqlState: String?, constraint: String?) {
        guard let sqlState, sqlState.utf8.count == 5 else {
            self = .unavailable
            return
        }
        if sqlState == "23514", constraint == nil {
            self = .missingPartition
        } else if sqlState.hasPrefix("22") || sqlState.hasPrefix("23") {
            self = .badData
        } else {
            self = .unavailable
        }
    }

    /// The meaning of `error`.
    public init(_ error: PostgresError) {
        self.init(sqlState: error.sqlState, constraint: error.constraint)
    }
}
