import Atomics
import Foundation
import ThreadSafety

/// What the sidecar's `/readyz` and `/metrics` need from PostgreSQL, gathered off the request path:
/// one thread asks `SELECT 1` every ``probeMicros`` (connect timeout 2 s) and counts applications
/// by status every ``countMicros``, so an HTTP handler only ever reads the last answer.
public final class DatabaseProbe: @unchecked Sendable {
    static let probeMicros: Int64 = 1_000_000
    static let countMicros: Int64 = 5_000_000

    private let databaseURL: String
    private let worker = WorkerThread()
    /// Monotonic µs of the last successful round trip (0: never).
    private let lastSuccess = ManagedAtomic<Int64>(0)
    private let counts = Locked([String: Int]())
    /// Failed probes since start.
    public let failures = ManagedAtomic<UInt64>(0)

    init(databaseURL: String) {
        let separator = databaseURL.contains("?") ? "&" : "?"
        self.databaseURL = databaseURL.contains("connect_timeout=") ? databaseURL : databaseURL + separator + "connect_timeout=2"
    }

    /// Whether PostgreSQL answered within the last three probe periods.
    public var isReachable: Bool {
        let last = lastSuccess.load(ordering: .acquiring)
        return last > 0 && WallClock.monotonicMicros() - last <= 3 * Self.probeMicros
    }

    /// Applications by stored status (`new`, `up`, …), as of the last count (every status present).
    public var applicationsByStatus: [String: Int] { counts.withLock { $0 } }

    public func start() {
        worker.start(name: "heartbeat-db-probe") { [self] in run() }
    }

    public func stop() {
        worker.stop()
    }

    private func run() {
        var connection: PostgresConnection?
        var lastCount: Int64 = 0
        while !worker.isStopRequested {
            let started = WallClock.monotonicMicros()
            do {  // PostgresError, or StoreError from the count: either way, reconnect next time
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                _ = try connection!.query("SELECT 1")
                lastSuccess.store(WallClock.monotonicMicros(), ordering: .releasing)
                if started - lastCount >= Self.countMicros {
                    let byStatus = try ApplicationStore.summary(on: connection!)
                    counts.withLock { $0 = byStatus }
                    lastCount = started
                }
            } catch {
                connection = nil
                failures.wrappingIncrement(ordering: .relaxed)
            }
            worker.pause(micros: Self.probeMicros)
        }
    }
}

extension DatabaseProbe: CollectorService {
    public var serviceName: String { "database probe" }
}
