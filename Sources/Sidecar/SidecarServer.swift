import Collector
import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle

/// The collector's HTTP sidecar (Hummingbird 2) on `--http`: health, readiness and metrics, the
/// status API and status page, management behind an admin token, and batch ingest
/// (`Spec/openapi.yaml`). Health, readiness and metrics only read what the collector's threads
/// publish (atomics, the probe's last answers); status reads answer from the collector's memory
/// (the hottest on the event loop: ``LiveReadHandler``), history reads go through an exact
/// 1-second cache, and database work runs on a pool off the HTTP threads.
///
/// Lifecycle from synchronous code: ``start()`` returns once the port is bound (or throws, e.g.
/// when it is taken), ``stop()`` returns once the server has closed. `heartbeat serve` runs it as
/// the last of the collector's services.
public final class SidecarServer: @unchecked Sendable {
    /// The HTTP port could not be bound, or the server failed.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Limits on the HTTP connections one client (or many) can hold.
    public struct Limits: Sendable {
        /// Connections that serve every route; past it the oldest idle one is closed for a newcomer.
        public var maximumConnections: Int
        /// Extra connections that answer only `/healthz` and `/readyz` while every regular one is busy.
        public var reserveConnections: Int
        /// A connection with no request in progress (keep-alive, or a header not yet complete) is
        /// closed after this long.
        public var idleTimeoutSeconds: Int
        /// A request must arrive whole (head to end of body) within this long.
        public var requestTimeoutSeconds: Int

        public init(maximumConnections: Int = 256, reserveConnections: Int = 8, idleTimeoutSeconds: Int = 10, requestTimeoutSeconds: Int = 10) {
            self.maximumConnections = maximumConnections
            self.reserveConnections = reserveConnections
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.requestTimeoutSeconds = requestTimeoutSeconds
        }
    }

    private let collector: any SidecarCollector
    private let shared: SidecarContext
    private let limits: Limits
    /// Whether ``LiveReadHandler`` answers the hottest reads on the event loop (off only in tests
    /// that compare its answers with the router's).
    private let liveReadsOnEventLoop: Bool
    /// Event-loop threads of this server (its own group, shut down by ``stop()``).
    private let threads: Int
    private var eventLoops: MultiThreadedEventLoopGroup?
    /// Where the server's async code runs: its own event loops (see ``DedicatedExecutor``).
    private var executor = DedicatedExecutor.shared
    /// The `Server` header of every response.
    static let serverName = "heartbeat"
    /// The connection limits in force (their counters are exported on `/metrics`).
    let connections: ConnectionGuard
    private let host: String
    private let requestedPort: Int
    private var task: Task<Void, Never>?
    /// The service group the server runs in: stopping is its graceful shutdown (idle connections
    /// close, requests in progress finish), not a cancellation, which NIO reports as errors.
    private var group: ServiceGroup?
    private let finished = DispatchSemaphore(value: 0)

    public init(
        collector: any SidecarCollector, host: String, port: Int, adminToken: String? = nil, readToken: String? = nil, previousSecretSeconds: Int = 3_600,
        limits: Limits = Limits(), applicationMetrics: Bool = false, liveReadsOnEventLoop: Bool = true, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        provisioning: PingProvisioningSettings? = nil
    ) {
        self.threads = max(1, threads)
        self.liveReadsOnEventLoop = liveReadsOnEventLoop
        self.collector = collector
        self.limits = limits
        self.connections = ConnectionGuard(
            admission: ConnectionAdmission(maximum: limits.maximumConnections, reserve: limits.reserveConnections),
            requestTimeout: .seconds(Int64(limits.requestTimeoutSeconds)), idleTimeout: .seconds(Int64(limits.idleTimeoutSeconds)))
        self.shared = SidecarContext(
            collector: collector, adminToken: adminToken, readToken: readToken, previousSecretSeconds: previousSecretSeconds, connections: connections,
            applicationMetrics: applicationMetrics, provisioning: provisioning)
        self.host = host
        self.requestedPort = port
    }

    /// The port the server is bound to (0 until ``start()`` returns).
    public private(set) var port = 0

    /// Binds and starts serving; ``port`` then says where.
    public func start() throws(StartError) {
        let bound = Bound()
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.eventLoops = eventLoops
        executor = DedicatedExecutor(group: eventLoops)
        let connections = connections
        let logger = {
            var logger = Logger(label: "heartbeat.sidecar")
            logger.logLevel = .error
            return logger
        }()
        let shared = shared
        let liveReadsOnEventLoop = liveReadsOnEventLoop
        // No idle timeout of the server's own: the tracker keeps it (see ``ConnectionGuard``).
        let application = Application(
            router: Self.router(shared),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [connections.makeTracker()]
                    + (liveReadsOnEventLoop ? [LiveReadHandler(shared: shared, serverName: Self.serverName)] : []),
                idleTimeout: nil)),
            configuration: .init(address: .hostname(host, port: requestedPort), serverName: Self.serverName),
            onServerRunning: { channel in bound.set(port: channel.localAddress?.port ?? -1) },
            eventLoopGroupProvider: .shared(eventLoops),
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger))
        self.group = group
        task = Task(executorPreference: executor) { [finished] in
            do {
                try await group.run()
            } catch {
                bound.fail("\(error)")
            }
            bound.fail("the HTTP server stopped")
            finished.signal()
        }
        switch bound.wait() {
        case .success(let port):
            self.port = port
            shared.historyReads.monitor?.start()
        case .failure(let message):
            finished.wait()
            closeEventLoops()
            throw StartError(description: Self.explain(message, host: host, port: requestedPort))
        }
    }

    /// A start failure in words an operator can act on, like the UDP receivers' (NIO reports a
    /// taken port as `bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`).
    static func explain(_ message: String, host: String, port: Int) -> String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if message.contains("errno: 98") || message.contains("Address already in use") {
            return "HTTP \(address) is not free: another process (a collector still running?) already listens there; stop it, or choose another --http address (port 0 picks a free one)"
        }
        if message.contains("errno: 13") || message.contains("Permission denied") {
            return "HTTP \(address) cannot be bound: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); choose another --http address"
        }
        if message.contains("errno: 99") || message.contains("Cannot assign requested address") {
            return "HTTP \(address) cannot be bound: no interface on this machine has that address; choose another --http address"
        }
        return "HTTP sidecar on \(address): \(message)"
    }

    /// Stops the server gracefully and waits until it has closed. Call it from a thread outside
    /// Swift's cooperative pool (`heartbeat serve` uses its main thread): the shutdown runs as a
    /// `Task` on the sidecar's executor, and a pool thread blocked here could be the one it needs.
    /// From async code, use ``shutdown()``.
    public func stop() {
        guard let task, let group else { return }
        shared.historyReads.monitor?.stop()
        Task(executorPreference: executor) { await group.triggerGracefulShutdown() }
        finished.wait()
        _ = task
        self.task = nil
        self.group = nil
        closeEventLoops()
    }

    /// Stops the server's event-loop threads once nothing runs on them any more.
    private func closeEventLoops() {
        guard let eventLoops else { return }
        self.eventLoops = nil
        executor = DedicatedExecutor.shared
        eventLoops.shutdownGracefully { _ in }
    }

    /// Stops the server gracefully and waits, without blocking a thread, until it has closed.
    public func shutdown() async {
        guard let task, let group else { return }
        shared.historyReads.monitor?.stop()
        await group.triggerGracefulShutdown()
        await task.value
        self.task = nil
        self.group = nil
        closeEventLoops()
    }

    /// Every route the server registers, as `METHOD /path/{param}` (the form `Spec/openapi.yaml`
    /// uses), read back from the router itself.
    public static func registeredRoutes(collector: any SidecarCollector) -> [String] {
        listing(router(SidecarContext(collector: collector, adminToken: nil, previousSecretSeconds: 0, connections: nil)))
    }

    /// `METHOD /path/{param}` for every route of `router`, sorted.
    private static func listing(_ router: Router<BasicRequestContext>) -> [String] {
        router.routes.map { route in
            let path = "\(route.path)".split(separator: "/", omittingEmptySubsequences: false).map { segment in
                segment.hasPrefix(":") ? "{" + segment.dropFirst() + "}" : String(segment)
            }.joined(separator: "/")
            return "\(route.method) " + (path.hasPrefix("/") ? path : "/" + path)
        }.sorted()
    }

    static func router(_ shared: SidecarContext) -> Router<BasicRequestContext> {
        let collector = shared.collector
        // HEAD wherever GET works: the same status and headers, no body.
        let router = Router(options: .autoGenerateHeadEndpoints)
        let routes = RouteTable()
        router.add(middleware: ErrorMiddleware(routes: routes))
        StatusAPI.register(on: router, shared)
        HistoryAPI.register(on: router, shared)
        UptimeAPI.register(on: router, shared)
        BadgeAPI.register(on: router, shared)
        ManagementAPI.register(on: router, shared)
        ChannelAPI.register(on: router, shared)
        SilenceAPI.register(on: router, shared)
        IncidentAPI.register(on: router, shared)
        BatchIngestAPI.register(on: router, shared)
        PingAPI.register(on: router, shared)
        RunsAPI.register(on: router, shared)
        StatusPage.register(on: router, shared)
        router.get("/healthz") { _, _ in
            json(.ok, #"{"status":"ok"}"#)
        }
        router.get("/readyz") { _, _ -> Response in
            let readiness = Readiness(collector.snapshot())
            let body = (try? JSONEncoder().encode(readiness)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return json(readiness.ready ? .ok : .serviceUnavailable, body)
        }
        router.get("/v1/collector") { request, _ -> Response in
            try shared.requireRead(request)
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: collector.snapshot().json)))
        }
        router.get("/metrics") { request, _ -> Response in
            try shared.requireRead(request)
            return Response(
                status: .ok, headers: [.contentType: CollectorMetricsPage.contentType, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: CollectorMetricsPage.render(
                    collector.snapshot(), cache: shared.cache, connections: shared.connections,
                    eventLoopAnswers: shared.eventLoopAnswers.load(ordering: .relaxed), runWrites: shared.runWrites,
                    provisioning: shared.provisioner.outcomeCounts, replica: shared.historyReads.monitor))))
        }
        ApplicationMetricsPage.register(on: router, shared)
        // The HEAD routes Hummingbird adds when the responder is built are listed too.
        routes.set(listing(router) + listing(router).filter { $0.hasPrefix("GET ") }.map { "HEAD " + $0.dropFirst(4) })
        return router
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension SidecarServer: CollectorService {
    public var serviceName: String { "HTTP sidecar" }
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
