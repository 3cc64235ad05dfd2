import Atomics
import Foundation

/// Which collector's monitor acts: a lease in Redis (`SET heartbeat:monitor_leader <id> NX PX`),
/// renewed by its holder every ``renewMillis`` and expiring ``leaseMillis`` after the last renewal.
/// When the holder dies, another collector takes the key within leaseMillis + renewMillis
/// (2.25 s by default), inside the 3 s the monitor promises.
///
/// The holder counts its lease valid only until ``validForMillis`` after it *sent* the last
/// successful renewal, measured on the monotonic clock — earlier than Redis's expiry, so two
/// monitors never act at once because of latency, and a holder that was stopped (SIGSTOP) sees
/// its lease as lapsed the moment it resumes.
///
/// Redis unreachable for longer than a lease: nobody can hold one, so the monitor falls back to
/// deciding from local state (``isDegraded``); transitions stay exactly-once through PostgreSQL.
final class MonitorLease: @unchecked Sendable {
    static let leaseMillis = 2_000
    static let validForMillis = 1_500
    static let renewMillis = 250

    /// Renews only if we still hold it (a lease another collector took is never extended).
    private static let renewScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    /// Releases only if we hold it.
    private static let releaseScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    let holderID: String
    /// `<prefix>:monitor_leader`.
    let key: String
    private let url: String
    private let metrics: HotStateMetrics
    let worker = WorkerThread()
    /// Monotonic µs until which this collector may act as leader (0: not leader).
    private let validUntil = ManagedAtomic<Int64>(0)
    /// Whether Redis has been unreachable for longer than a lease.
    private let degradedFlag = ManagedAtomic<Bool>(false)

    init(url: String, keyPrefix: String, holderID: String, metrics: HotStateMetrics) {
        self.url = url
        self.key = keyPrefix + ":monitor_leader"
        self.holderID = holderID
        self.metrics = metrics
    }

    var isLeader: Bool { WallClock.monotonicMicros() < validUntil.load(ordering: .acquiring) }
    var isDegraded: Bool { degradedFlag.load(ordering: .acquiring) }

    /// Renews the lease; when stopped, gives it up, so another collector takes over at once.
    func run() {
        var connection: RedisConnection?
        var lastContact = WallClock.monotonicMicros()
        while !worker.isStopRequested {
            let sent = WallClock.monotonicMicros()
            do throws(RedisError) {
                if connection == nil { connection = try RedisConnection(url: url) }
                let held = try renewOrAcquire(on: connection!)
                lastContact = WallClock.monotonicMicros()
                degradedFlag.store(false, ordering: .releasing)
                let wasLeader = validUntil.load(ordering: .relaxed) > sent
                validUntil.store(held ? sent + Int64(Self.validForMillis) * 1_000 : 0, ordering: .releasing)
                if held && !wasLeader { metrics.leadershipsGained.wrappingIncrement(ordering: .relaxed) }
            } catch {
                connection = nil
                validUntil.store(0, ordering: .releasing)
                if WallClock.monotonicMicros() - lastContact > Int64(Self.leaseMillis) * 1_000 {
                    degradedFlag.store(true, ordering: .releasing)
                }
            }
            metrics.isLeader.store(isLeader, ordering: .relaxed)
            metrics.degraded.store(isDegraded, ordering: .relaxed)
            usleep(UInt32(Self.renewMillis * 1_000))
        }
        if let connection, validUntil.load(ordering: .relaxed) > 0 {
            _ = try? connection.command(["EVAL", Self.releaseScript, "1", key, holderID])
        }
        validUntil.store(0, ordering: .releasing)
        metrics.isLeader.store(false, ordering: .relaxed)
    }

    /// Renews the lease if held, else tries to take it; returns whether we hold it now.
    private func renewOrAcquire(on connection: RedisConnection) throws(RedisError) -> Bool {
        let renewed = try connection.command(["EVAL", Self.renewScript, "1", key, holderID, String(Self.leaseMillis)])
        if case .integer(1) = renewed { return true }
        if case .error(let message) = renewed { throw RedisError(operation: "renew lease", message: message) }
        let acquired = try connection.command(["SET", key, holderID, "NX", "PX", String(Self.leaseMillis)])
        if case .error(let message) = acquired { throw RedisError(operation: "acquire lease", message: message) }
        return acquired == .status("OK")
    }
}

extension MonitorLease: ThreadedService {
    var threadName: String { "heartbeat-lease" }
    var serviceName: String { "monitor lease" }
}
