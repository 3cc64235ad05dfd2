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
    func run<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                slots.wait()
                defer { slots.signal() }
                var connection = idle.withLock { $0.popLast() }
                do {
                    if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: url) }
                    let result = try body(connection!)
                    let healthy = connection!
                    idle.withLock { $0.append(healthy) }
                    continuation.resume(returning: result)
                } catch let error as APIError {
                    if let connection, connection.isConnected { idle.withLock { $0.append(connection) } }
                    continuation.resume(throwing: error)
                } catch StoreError.notFound {
                    if let connection, connection.isConnected { idle.withLock { $0.append(connection) } }
                    continuation.resume(throwing: APIError.notFound("no such application"))
                } catch StoreError.invalid(let field, let message) {
                    if let connection, connection.isConnected { idle.withLock { $0.append(connection) } }
                    continuation.resume(throwing: APIError.badRequest("\(field): \(message)"))
                } catch {
                    continuation.resume(throwing: APIError.unavailable("PostgreSQL: \(error)"))
                }
            }
        }
    }
}
