import CLibPQ
import Foundation

/// A failure reported by PostgreSQL or libpq, with libpq's own message.
public struct PostgresError: Error, CustomStringConvertible {
    /// What was being done ("connect", "query", …).
    public let operation: String
    /// libpq's message, trimmed.
    public let message: String
    /// The server's SQLSTATE (`22008`, `08006` …); `nil` when the failure happened on the client's
    /// side (no connection, a lost socket), which is an availability failure.
    public let sqlState: String?
    /// The constraint the server named, if any (`PG_DIAG_CONSTRAINT_NAME`): a row's own check
    /// violation names one, a row that no partition takes does not.
    public let constraint: String?

    public init(operation: String, message: String, sqlState: String? = nil, constraint: String? = nil) {
        self.operation = operation
        self.message = message
        self.sqlState = sqlState
        self.constraint = constraint
    }

    /// The error `result` reports (its message, SQLSTATE and constraint).
    init(operation: String, result: OpaquePointer) {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        self.init(
            operation: operation, message: String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines(),
            sqlState: field(Int32(UInt8(ascii: "C"))), constraint: field(Int32(UInt8(ascii: "n"))))
    }

    public var description: String { "PostgreSQL \(operation) failed: \(message)" }
}

/// One libpq connection, used from one thread at a time (libpq connections are not thread-safe;
/// the owner serialises access). Closed when released.
public final class PostgresConnection {
    let connection: OpaquePointer

    /// Connects to `url` (a libpq connection URI such as `postgresql://user@127.0.0.1:5432/db`).
    public init(url: String) throws(PostgresError) {
        guard let connection = PQconnectdb(url) else {
            throw PostgresError(operation: "connect", message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.errorMessage(of: connection)
            PQfinish(connection)
            throw PostgresError(operation: "connect", message: message)
        }
        // Server notices ("relation already exists, skipping") are informational; errors come
        // back through results. Without this, libpq prints them to standard error.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
    }

    deinit {
        PQfinish(connection)
    }

    /// The server's version as an integer (150018 for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// Runs `sql` (one or more statements without parameters: DDL, transaction control, fixed
    /// statements in tests) and returns the rows of the last statement as text values (`nil` for
    /// SQL NULL). Anything that carries a value uses ``execute(_:_:)``.
    @discardableResult
    public func query(_ sql: String) throws(PostgresError) -> [[String?]] {
        guard let result = PQexec(connection, sql) else {
            throw PostgresError(operation: "query", message: Self.errorMessage(of: connection))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            return (0..<PQntuples(result)).map { row in
                (0..<PQnfields(result)).map { column in
                    PQgetisnull(result, row, column) == 1
                        ? nil : String(cString: PQgetvalue(result, row, column))
                }
            }
        default:
            throw PostgresError(operation: "query", result: result)
        }
    }

    /// Runs one statement with `parameters` bound to `$1`, `$2` … (sent apart from the SQL text, as
    /// text values; `nil` is SQL NULL), and returns its rows to be read by column name. Values never
    /// become part of the SQL text, whatever the server's quoting settings.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
        let result = parameters.withCStrings { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        guard let result else {
            throw PostgresError(operation: "query", message: Self.errorMessage(of: connection))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_TUPLES_OK:
            return QueryResult(result)
        default:
            throw PostgresError(operation: "query", result: result)
        }
    }

    /// ``execute(_:_:)`` with its parameters listed, its rows as positional values.
    @discardableResult
    public func query(_ sql: String, _ first: String?, _ more: String?...) throws(PostgresError) -> [[String?]] {
        try execute(sql, [first] + more).rows.map(\.values)
    }

    /// Runs one statement with `parameters` (as ``execute(_:_:)``) and hands each row to `body` as
    /// it arrives, in libpq's single-row mode, so that a result of a million rows is never held in
    /// memory at once. Returns the number of rows.
    @discardableResult
    public func forEachRow(_ sql: String, _ parameters: [String?] = [], _ body: (QueryRow) -> Void) throws(PostgresError) -> Int {
        let sent = parameters.withCStrings { values in
            PQsendQueryParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        guard sent == 1 else {
            throw PostgresError(operation: "query", message: Self.errorMessage(of: connection))
        }
        _ = PQsetSingleRowMode(connection)
        var rows = 0
        var failure: PostgresError?
        var index: ColumnIndex?
        while let result = PQgetResult(connection) {
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                let columns = PQnfields(result)
                if index == nil { index = ColumnIndex(names: (0..<columns).map { String(cString: PQfname(result, $0)) }) }
                let values = (0..<columns).map { column in
                    PQgetisnull(result, 0, column) == 1 ? nil : String(cString: PQgetvalue(result, 0, column))
                }
                if failure == nil { body(QueryRow(index: index!, values: values)) }
                rows += 1
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                break
            default:
                if failure == nil { failure = PostgresError(operation: "query", result: result) }
            }
            PQclear(result)
        }
        if let failure { throw failure }
        return rows
    }

    /// The text form of a PostgreSQL array holding `values` verbatim (`nil` as NULL), to be sent as
    /// a parameter (`$1::int[]`, `$2::text[]` …): every element is double-quoted, its quotes and
    /// backslashes escaped, as the array input syntax requires. This is the array's own syntax, not
    /// SQL quoting: the text never becomes part of a statement.
    public static func arrayParameter(_ values: [String?]) -> String {
        "{" + values.map { value in
            guard let value else { return "NULL" }
            return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }

    /// Whether the connection is outside any transaction: after a failed statement outside one, it
    /// is as good as before, and can go back to a pool.
    public var isIdle: Bool { PQtransactionStatus(connection) == PQTRANS_IDLE }

    /// Runs `copyStatement` (a `COPY … FROM STDIN`), sends `data` as its body, and returns the
    /// number of rows PostgreSQL reports. On any failure the COPY is abandoned, nothing of it is
    /// committed, and the connection stays usable.
    @discardableResult
    public func copyIn(_ copyStatement: String, data: UnsafeRawBufferPointer) throws(PostgresError) -> Int {
        guard let start = PQexec(connection, copyStatement) else {
            throw PostgresError(operation: "copy", message: Self.errorMessage(of: connection))
        }
        let startStatus = PQresultStatus(start)
        let startError = startStatus == PGRES_COPY_IN ? nil : PostgresError(operation: "copy", result: start)
        PQclear(start)
        if let startError { throw startError }
        // libpq takes at most Int32.max bytes a call; send in 1 MiB chunks.
        var offset = 0
        var sendFailure: String?
        while offset < data.count, sendFailure == nil {
            let chunk = min(1 << 20, data.count - offset)
            let sent = PQputCopyData(
                connection, (data.baseAddress! + offset).assumingMemoryBound(to: CChar.self), Int32(chunk))
            if sent != 1 { sendFailure = Self.errorMessage(of: connection) }
            offset += chunk
        }
        if PQputCopyEnd(connection, sendFailure == nil ? nil : "client could not send the data") != 1 {
            sendFailure = sendFailure ?? Self.errorMessage(of: connection)
        }
        var rows = 0
        var failure = sendFailure.map { PostgresError(operation: "copy", message: $0) }
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = PostgresError(operation: "copy", result: result)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        return rows
    }

    /// Whether the connection is still up (false after the server went away).
    public var isConnected: Bool { PQstatus(connection) == CONNECTION_OK }

    static func errorMessage(of connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingTrailingNewlines()
    }
}

extension String {
    /// The string without the newlines libpq and hiredis put at the end of their messages.
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while text.last == "\n" || text.last == "\r" { text = text.dropLast() }
        return String(text)
    }
}

/// The rows of one statement's result, copied out of libpq's, each read by column name.
public struct QueryResult: Sendable {
    /// Column names in order.
    public let columns: [String]
    /// The rows, in the server's order.
    public let rows: [QueryRow]

    init(_ result: OpaquePointer) {
        let fieldCount = PQnfields(result)
        let names = (0..<fieldCount).map { String(cString: PQfname(result, $0)) }
        let index = ColumnIndex(names: names)
        columns = names
        rows = (0..<PQntuples(result)).map { row in
            QueryRow(index: index, values: (0..<fieldCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
    }

    /// Whether the statement returned no rows.
    public var isEmpty: Bool { rows.isEmpty }
    /// The first row, if any.
    public var first: QueryRow? { rows.first }
}

/// Column positions by name, shared by every row of one result.
final class ColumnIndex: Sendable {
    let positions: [String: Int]
    init(names: [String]) {
        var positions = [String: Int]()
        for (position, name) in names.enumerated() where positions[name] == nil { positions[name] = position }
        self.positions = positions
    }
}

/// One row of a ``QueryResult``: text values by column name (`nil` for SQL NULL).
public struct QueryRow: Sendable {
    let index: ColumnIndex
    /// The values in column order.
    public let values: [String?]

    /// The value of column `name`; `nil` for NULL.
    ///
    /// - Precondition: the statement returns a column of that name (a misspelt name is a bug in the
    ///   statement beside it, not bad input).
    public subscript(_ name: String) -> String? {
        guard let position = index.positions[name] else { preconditionFailure("the result has no column \(name)") }
        return values[position]
    }

    /// Column `name` as an integer (nil for NULL or a non-number).
    public func int64(_ name: String) -> Int64? { self[name].flatMap { Int64($0) } }
    /// Column `name` as an integer (nil for NULL or a non-number).
    public func int(_ name: String) -> Int? { self[name].flatMap { Int($0) } }
    /// Column `name` as a boolean (`t`/`f`; nil for NULL).
    public func bool(_ name: String) -> Bool? { self[name].map { $0 == "t" } }
}

extension Array where Element == String? {
    /// Calls `body` with the elements as C strings (NULL for nil) that live for the call.
    func withCStrings<Result>(_ body: ([UnsafePointer<CChar>?]) -> Result) -> Result {
        let copies = map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }
}
