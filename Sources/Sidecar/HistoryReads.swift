import Collector
import Foundation
import ThreadSafety

/// Where history reads (events, transitions, loss, runs, uptime; `Spec/storage.md`, "A read replica
/// for history") run: on the streaming replica of `--database-read-url` while the monitor finds it
/// at most a second behind, else on the primary, as before. A read the replica fails with a
/// database error is run again on the primary. Registry reads and every write stay on the primary.
final class HistoryReads: Sendable {
    private let primary: DatabaseWork
    private let replica: DatabaseWork?
    /// Watches the replica; nil without one.
    let monitor: ReplicaMonitor?

    init(primary: DatabaseWork, primaryURL: String, replicaURL: String?) {
        self.primary = primary
        let replicaURL = replicaURL.map(Self.boundingConnect)
        replica = replicaURL.map { DatabaseWork(url: $0) }
        monitor = replicaURL.map { ReplicaMonitor(primaryURL: primaryURL, replicaURL: $0) }
    }

    /// `url` with `connect_timeout=2` unless it sets its own: a replica that stops answering
    /// (a black-holed host) then costs a probe or a read two seconds, not the kernel's TCP
    /// timeout. Both libpq forms: a URI gets a query parameter, key=value text another pair.
    static func boundingConnect(_ url: String) -> String {
        guard !url.contains("connect_timeout") else { return url }
        if url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") {
            return url + (url.contains("?") ? "&" : "?") + "connect_timeout=2"
        }
        return url + " connect_timeout=2"
    }

    /// Runs `body` where the route says, and notes the route for the answer's
    /// `Heartbeat-Read-Source` header (``ReadSourceNote``).
    func run<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> Value) async throws -> Value {
        guard let replica, let monitor else { return try await primary.run(body) }
        var route = monitor.route()
        if route == .replica || route == .replicaPrimaryDown {
            do {
                let value = try await replica.run(body)
                ReadSourceNote.current?.set(route.header)
                (route == .replica ? monitor.replicaReads : monitor.replicaReadsPrimaryDown).wrappingIncrement(ordering: .relaxed)
                return value
            } catch let error as APIError where error.status == .serviceUnavailable {
                monitor.markUnreachable()
                route = .primary(.unreachable)
            }
        }
        if case .primary(let fallback) = route { monitor.fallbacks[fallback]?.wrappingIncrement(ordering: .relaxed) }
        ReadSourceNote.current?.set(route.header)
        return try await primary.run(body)
    }
}

/// Which server answered the history reads that produced one cached answer: the read cache sets
/// a note for each answer it produces, ``HistoryReads`` writes into it, and the answer carries
/// it as `Heartbeat-Read-Source`, to its first reader and every one the cache serves after.
final class ReadSourceNote: Sendable {
    @TaskLocal static var current: ReadSourceNote?

    private let value = Locked<String?>(nil)

    /// Records `source`; a primary fallback outranks a replica read of the same answer.
    func set(_ source: String) {
        value.withLock { value in
            if value == nil || source.hasPrefix("primary") { value = source }
        }
    }

    /// What was recorded (nil: no history read, or no replica configured).
    var source: String? { value.withLock { $0 } }
}
