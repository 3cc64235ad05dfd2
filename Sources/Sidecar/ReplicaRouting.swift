/// Where a history read goes when a streaming replica is configured (`--database-read-url`,
/// `Spec/storage.md`, "A read replica for history"), decided from what the replica monitor last
/// saw. Pure: the monitor feeds it, tests drive it as tables.
enum ReplicaRouting {
    /// Why a read went to the primary although a replica is configured.
    enum Fallback: String, Equatable, Sendable, CaseIterable {
        /// The replica did not answer (or never has).
        case unreachable = "replica-unreachable"
        /// The replica is further behind than the history routes' `max-age`.
        case lagging = "replica-lagging"
        /// The server at the read URL is not in recovery: not a standby of this primary (or
        /// promoted since), so its data may have parted from the primary's.
        case notReplica = "not-a-replica"
    }

    /// Where a read goes.
    enum Route: Equatable, Sendable {
        /// The replica, at most `maxAge` behind.
        case replica
        /// The replica, with its lag unknown: the primary does not answer, so it cannot be
        /// compared, and a possibly older answer beats none.
        case replicaPrimaryDown
        case primary(Fallback)

        /// The `Heartbeat-Read-Source` header's value.
        var header: String {
            switch self {
            case .replica: "replica"
            case .replicaPrimaryDown: "replica; lag=unknown; reason=primary-unreachable"
            case .primary(let fallback): "primary; reason=\(fallback.rawValue)"
            }
        }
    }

    /// What the monitor saw at its last probe.
    struct Observation: Equatable, Sendable {
        /// When the probe ended (monotonic µs).
        var atMicros: Int64
        /// Whether the replica answered.
        var replicaReachable: Bool
        /// Whether it is in recovery (a standby).
        var replicaInRecovery: Bool
        /// Whether the primary answered.
        var primaryReachable: Bool
        /// How far behind the primary the replica's replayed data was at the probe (nil: behind
        /// every primary position the monitor still keeps, or unknown).
        var lagMicros: Int64?
    }

    /// The route for a read at `nowMicros`, given the last observation (nil before the first
    /// probe). The lag grows with the observation's age, so a monitor that stalls sends reads to
    /// the primary rather than trust an old figure.
    static func route(_ observation: Observation?, nowMicros: Int64, maxAgeMicros: Int64) -> Route {
        guard let observation, observation.replicaReachable else { return .primary(.unreachable) }
        guard observation.replicaInRecovery else { return .primary(.notReplica) }
        guard observation.primaryReachable else { return .replicaPrimaryDown }
        guard let lag = observation.lagMicros, lag + max(0, nowMicros - observation.atMicros) <= maxAgeMicros else { return .primary(.lagging) }
        return .replica
    }

    /// The replica's lag from the primary's WAL positions sampled over time: the replica holds
    /// everything the primary had written at the newest sample whose position it has replayed,
    /// so it is at most (now − that sample's time) behind. An idle primary whose position the
    /// replica has reached is a lag of the sampling interval, not the time since the last write.
    struct Freshness: Sendable {
        /// (monotonic µs, primary WAL position), oldest first.
        private(set) var samples: [(atMicros: Int64, position: UInt64)] = []
        /// How many samples are kept: the longest lag the monitor can measure is their span.
        let capacity: Int

        init(capacity: Int) { self.capacity = capacity }

        /// Adds the primary's position at `atMicros`.
        mutating func record(atMicros: Int64, primaryPosition: UInt64) {
            samples.append((atMicros, primaryPosition))
            if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
        }

        /// The lag at `nowMicros` of a replica that has replayed up to `replayed`; nil when it is
        /// behind every sample kept (or none is).
        func lagMicros(replayed: UInt64, nowMicros: Int64) -> Int64? {
            guard let reached = samples.last(where: { $0.position <= replayed }) else { return nil }
            return max(0, nowMicros - reached.atMicros)
        }
    }
}
