import CLibPQ

extension PostgresConnection {
    /// Runs one statement with `parameters` (text values, as ``execute(_:_:)``) and asks for its
    /// rows in PostgreSQL's binary format, then hands them to `body` before they are freed. For
    /// reads of thousands of rows of fixed-width values (a year of transitions), where formatting
    /// and parsing text would cost more than the query.
    public func withBinaryResult<Value>(
        _ sql: String, _ parameters: [String?], _ body: (BinaryResult) -> Value
    ) throws(PostgresError) -> Value {
        let result = parameters.withCStrings { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 1)
        }
        guard let result else {
            throw PostgresError(operation: "query", message: Self.errorMessage(of: connection))
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else { throw PostgresError(operation: "query", result: result) }
        return body(BinaryResult(result))
    }
}

/// A result in binary format, valid only inside ``PostgresConnection/withBinaryResult(_:_:_:)``.
/// Columns are found by name once (``column(_:)``); values are read by row and column position.
public struct BinaryResult {
    private let result: OpaquePointer

    init(_ result: OpaquePointer) { self.result = result }

    /// The number of rows.
    public var count: Int { Int(PQntuples(result)) }

    /// The position of column `name`.
    ///
    /// - Precondition: the statement returns a column of that name.
    public func column(_ name: String) -> Int32 {
        let position = PQfnumber(result, name)
        precondition(position >= 0, "the result has no column \(name)")
        return position
    }

    /// Whether the value is SQL NULL.
    public func isNull(_ row: Int, _ column: Int32) -> Bool { PQgetisnull(result, Int32(row), column) == 1 }

    /// A `bigint` value (nil for NULL).
    public func int64(_ row: Int, _ column: Int32) -> Int64? {
        guard !isNull(row, column), PQgetlength(result, Int32(row), column) == 8, let bytes = PQgetvalue(result, Int32(row), column) else { return nil }
        return Int64(bigEndian: UnsafeRawPointer(bytes).loadUnaligned(as: Int64.self))
    }

    /// A `timestamptz` as microseconds since the Unix epoch (nil for NULL). The binary form counts
    /// microseconds from 2000-01-01 UTC.
    public func timestampMicros(_ row: Int, _ column: Int32) -> Int64? {
        int64(row, column).map { $0 + Self.postgresEpochMicros }
    }

    /// A `text` value (nil for NULL).
    public func text(_ row: Int, _ column: Int32) -> String? {
        guard !isNull(row, column), let bytes = PQgetvalue(result, Int32(row), column) else { return nil }
        let length = Int(PQgetlength(result, Int32(row), column))
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// 2000-01-01T00:00:00Z in Unix microseconds.
    static let postgresEpochMicros: Int64 = 946_684_800_000_000
}
