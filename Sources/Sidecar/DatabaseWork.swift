import Collector
import Dispatch
import Foundation
import Logging
import ThreadSafety

/// Runs the sidecar's PostgreSQL work off the HTTP threads: blocking libpq calls go to a dispatch
/// queue, on one of at most ``size`` pooled connections (a broken one is dropped and reopened), and
/// the handler awaits the result — so a slow query never holds up `/healthz` or `/metrics`.
final class DatabaseWork: @unchecked Sendable {
    let size: Int
    private let url: String
    private let idle = Locked([PostgresConnection]())
    private let slots: DispatchSemaphore
    private let queue = DispatchQueue(label: "heartbeat.sidecar.database", attributes: .concurrent)

    init(url: String, size: Int = 4) {
        self.url = url
        self.size = size
        slots = DispatchSemaphore(value: size)
    }

    /// Runs `body` on a pooled connection; database failures become 503s.
    func run<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                slots.wait()
                defer { slots.signal() }
                var connection = idle.withLock { $0.popLast() }
                let outcome = Result { () throws -> Value in
                    if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: url) }
                    return try body(connection!)
                }
                let mapped = outcome.mapError(Self.apiError)
                // A statement that failed outside a transaction leaves its connection as good as
                // before: only a broken one (or one left inside a transaction) is dropped.
                if let connection, connection.isConnected, connection.isIdle { idle.withLock { $0.append(connection) } }
                continuation.resume(with: mapped)
            }
        }
    }

    /// What the client is told about `error`. PostgreSQL's own text never reaches a client: its
    /// `DETAIL` can quote a whole row (a `Failing row contains (…)` once held an application's
    /// secret). A refused value is a 400 or 409 in our words; any other failure is a 503 with an
    /// id that is also in the collector's log, beside the server's message.
    static func apiError(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case StoreError.notFound: return APIError.notFound("no such application")
        case StoreError.invalid(let field, let message): return APIError.badRequest("\(field): \(message)")
        case StoreError.conflict(let message): return APIError(status: .conflict, code: "conflict", message: message)
        case StoreError.database(let failure) where failure.sqlState?.hasPrefix("23") == true:
            return APIError(
                status: .conflict, code: "conflict",
                message: "the change breaks a rule of the registry" + (failure.constraint.map { " (\($0))" } ?? ""))
        case StoreError.database(let failure) where failure.sqlState?.hasPrefix("22") == true:
            return APIError.badRequest("a value is out of the range the registry stores")
        default:
            let id = DatabaseFailureLog.record(error)
            return APIError.unavailable("the database could not answer (error \(id); the collector's log has the details)")
        }
    }
}

/// Database failures the sidecar hid from its clients, written to standard error with the id the
/// client was given, so an operator can match a 503 to its cause.
enum DatabaseFailureLog {
    private static let logger: Logger = {
        var logger = Logger(label: "heartbeat.sidecar")
        logger.logLevel = .error
        return logger
    }()

    /// Logs `error` under a new short id; returns the id.
    static func record(_ error: any Error) -> String {
        let id = String(UInt32.random(in: .min ... .max), radix: 16)
        logger.error("database failure \(id): \(error)")
        return id
    }
}
