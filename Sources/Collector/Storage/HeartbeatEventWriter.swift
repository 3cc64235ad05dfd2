/// Writes batches of ``HeartbeatRow``s into `heartbeat_event` with one binary COPY each, over one
/// libpq connection. A batch is committed whole or not at all.
public final class HeartbeatEventWriter {
    static let copyStatement = "COPY heartbeat_event (\(BinaryCopyEncoder.columns)) FROM STDIN (FORMAT binary)"

    private let connection: PostgresConnection
    private var encoder: BinaryCopyEncoder

    /// A writer on `connection`, with room for `expectedBatchRows` rows before its buffer grows.
    public init(connection: PostgresConnection, expectedBatchRows: Int = 50_000) {
        self.connection = connection
        self.encoder = BinaryCopyEncoder(reservingRows: expectedBatchRows)
    }

    /// Writes `rows` in one COPY; returns the number of rows stored.
    @discardableResult
    public func write(_ rows: some Sequence<HeartbeatRow>) throws(PostgresError) -> Int {
        encoder.reset()
        for row in rows { encoder.append(row) }
        guard encoder.rows > 0 else { return 0 }
        let expected = encoder.rows
        let stored = try encoder.finish { body throws(PostgresError) in
            try connection.copyIn(Self.copyStatement, data: body)
        }
        guard stored == expected else {
            throw PostgresError(operation: "copy", message: "PostgreSQL stored \(stored) rows of \(expected)")
        }
        return stored
    }
}
