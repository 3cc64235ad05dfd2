import CLibPQ
import Foundation

/// A failure reported by PostgreSQL or libpq, with libpq's own message.
public struct PostgresError: Error, CustomStringConvertible {
    /// What was being done ("connect", "query", …).
    public let operation: String
    /// libpq's message, trimmed.
    public let message: String

    public var description: String { "PostgreSQL \(operation) failed: \(message)" }
}

/// One libpq connection, used from one thread at a time (libpq connections are not thread-safe;
/// the owner serialises access). Closed when released.
public final class PostgresConnection {
    private let connection: OpaquePointer

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

    /// Runs `sql` (one or more statements without parameters) and returns the rows of the last
    /// statement as text values (`nil` for SQL NULL).
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
            throw PostgresError(
                operation: "query", message: String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines())
        }
    }

    /// Runs `sql` (several statements separated by semicolons) and returns every statement's rows,
    /// in order (an empty array for a statement that returns none). The first error stops the
    /// rest, as in one transaction, and is thrown.
    public func queryResults(_ sql: String) throws(PostgresError) -> [[[String?]]] {
        guard PQsendQuery(connection, sql) == 1 else {
            throw PostgresError(operation: "query", message: Self.errorMessage(of: connection))
        }
        var results = [[[String?]]]()
        var failure: String?
        while let result = PQgetResult(connection) {
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK:
                results.append((0..<PQntuples(result)).map { row in
                    (0..<PQnfields(result)).map { column in
                        PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                    }
                })
            case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                results.append([])
            default:
                if failure == nil { failure = String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines() }
            }
            PQclear(result)
        }
        if let failure { throw PostgresError(operation: "query", message: failure) }
        return results
    }

    /// Runs `sql` (one statement) and hands each row to `body` as it arrives, in libpq's
    /// single-row mode, so that a result of a million rows is never held in memory at once.
    /// Returns the number of rows.
    @discardableResult
    public func forEachRow(_ sql: String, _ body: ([String?]) -> Void) throws(PostgresError) -> Int {
        guard PQsendQuery(connection, sql) == 1 else {
            throw PostgresError(operation: "query", message: Self.errorMessage(of: connection))
        }
        _ = PQsetSingleRowMode(connection)
        var rows = 0
        var failure: String?
        var values = [String?]()
        while let result = PQgetResult(connection) {
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                let columns = PQnfields(result)
                values.removeAll(keepingCapacity: true)
                for column in 0..<columns {
                    values.append(PQgetisnull(result, 0, column) == 1 ? nil : String(cString: PQgetvalue(result, 0, column)))
                }
                if failure == nil { body(values) }
                rows += 1
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                break
            default:
                if failure == nil { failure = String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines() }
            }
            PQclear(result)
        }
        if let failure { throw PostgresError(operation: "query", message: failure) }
        return rows
    }

    /// Runs `copyStatement` (a `COPY … FROM STDIN`), sends `data` as its body, and returns the
    /// number of rows PostgreSQL reports. On any failure the COPY is abandoned, nothing of it is
    /// committed, and the connection stays usable.
    @discardableResult
    public func copyIn(_ copyStatement: String, data: UnsafeRawBufferPointer) throws(PostgresError) -> Int {
        guard let start = PQexec(connection, copyStatement) else {
            throw PostgresError(operation: "copy", message: Self.errorMessage(of: connection))
        }
        let startStatus = PQresultStatus(start)
        let startMessage = String(cString: PQresultErrorMessage(start)).trimmingTrailingNewlines()
        PQclear(start)
        guard startStatus == PGRES_COPY_IN else {
            throw PostgresError(operation: "copy", message: startMessage)
        }
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
        var failure = sendFailure
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines()
            }
            PQclear(result)
        }
        if let failure { throw PostgresError(operation: "copy", message: failure) }
        return rows
    }

    /// Whether the connection is still up (false after the server went away).
    /// `text` as an SQL string literal (quotes doubled; NUL, which text cannot hold, removed).
    public static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\0", with: "").replacingOccurrences(of: "'", with: "''") + "'"
    }

    public var isConnected: Bool { PQstatus(connection) == CONNECTION_OK }

    private static func errorMessage(of connection: OpaquePointer) -> String {
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
