import Collector
import Dispatch
import Foundation
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
                // An answer, or a refusal of the request (not a database failure): the connection
                // is still good; after anything else it is dropped and the next call reconnects.
                let mapped = outcome.mapError { error -> APIError in
                    switch error {
                    case let error as APIError: error
                    case StoreError.notFound: APIError.notFound("no such application")
                    case StoreError.invalid(let field, let message): APIError.badRequest("\(field): \(message)")
                    default: APIError.unavailable("PostgreSQL: \(error)")
                    }
                }
                let connectionIsGood = switch mapped {
                case .success: true
                case .failure(let error): error.status != .serviceUnavailable
                }
                if connectionIsGood, let connection, connection.isConnected { idle.withLock { $0.append(connection) } }
                continuation.resume(with: mapped)
            }
        }
    }
}
