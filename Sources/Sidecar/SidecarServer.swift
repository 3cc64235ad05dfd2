import Collector
import Dispatch
import Foundation
import Hummingbird
import Logging

/// The collector's HTTP sidecar (Hummingbird 2) on `--http`: `/healthz`, `/readyz`, `/metrics`.
/// It only reads what the collector's threads publish (atomics, the probe's last answers), so a
/// request never waits on PostgreSQL or Redis.
///
/// Lifecycle from synchronous code: ``start()`` returns once the port is bound (or throws, e.g.
/// when it is taken), ``stop()`` returns once the server has closed.
public final class SidecarServer: @unchecked Sendable {
    /// The HTTP port could not be bound, or the server failed.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    private let pipeline: IngestPipeline
    private let host: String
    private let requestedPort: Int
    private var task: Task<Void, Never>?
    private let finished = DispatchSemaphore(value: 0)

    public init(pipeline: IngestPipeline, host: String, port: Int) {
        self.pipeline = pipeline
        self.host = host
        self.requestedPort = port
    }

    /// Binds and starts serving; returns the bound port.
    public func start() throws(StartError) -> Int {
        let bound = Bound()
        let application = Application(
            router: Self.router(pipeline),
            configuration: .init(address: .hostname(host, port: requestedPort), serverName: "heartbeat"),
            onServerRunning: { channel in bound.set(port: channel.localAddress?.port ?? -1) },
            logger: {
                var logger = Logger(label: "heartbeat.sidecar")
                logger.logLevel = .error
                return logger
            }())
        task = Task(executorPreference: Self.executor) { [finished] in
            do {
                try await application.runService(gracefulShutdownSignals: [])
            } catch {
                bound.fail("\(error)")
            }
            bound.fail("the HTTP server stopped")
            finished.signal()
        }
        switch bound.wait() {
        case .success(let port): return port
        case .failure(let message):
            throw StartError(description: "HTTP sidecar on \(host):\(requestedPort): \(message)")
        }
    }

    /// Stops the server and waits until it has closed.
    public func stop() {
        guard let task else { return }
        task.cancel()
        finished.wait()
        self.task = nil
    }

    /// Where the server's async code runs (shared by every sidecar in the process; see
    /// ``DedicatedExecutor``).
    private static let executor = DedicatedExecutor(threads: 2, name: "heartbeat-http")

    static func router(_ pipeline: IngestPipeline) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            json(.ok, #"{"status":"ok"}"#)
        }
        router.get("/readyz") { _, _ -> Response in
            let readiness = Readiness(pipeline)
            let body = (try? JSONEncoder().encode(readiness)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return json(readiness.ready ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: CollectorMetricsPage.contentType, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: CollectorMetricsPage.render(pipeline))))
        }
        return router
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The outcome of binding, handed from the server task to the thread waiting in `start()`.
private final class Bound: @unchecked Sendable {
    enum Outcome { case success(Int), failure(String) }
    private let lock = NSLock()
    private var outcome: Outcome?
    private let ready = DispatchSemaphore(value: 0)

    func set(port: Int) { settle(.success(port)) }
    func fail(_ message: String) { settle(.failure(message)) }

    private func settle(_ value: Outcome) {
        lock.lock()
        defer { lock.unlock() }
        guard outcome == nil else { return }
        outcome = value
        ready.signal()
    }

    func wait() -> Outcome {
        ready.wait()
        lock.lock()
        defer { lock.unlock() }
        return outcome!
    }
}
