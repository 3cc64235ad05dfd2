import Atomics

/// What the Redis hot state did: sync rounds, leadership, publishing. All counters are totals
/// since start; the flags say how things stand now.
public final class HotStateMetrics: Sendable {
    /// Whether the last sync round reached Redis.
    public let redisReachable = ManagedAtomic<Bool>(false)
    /// Whether this collector's monitor holds the leader lease now.
    public let isLeader = ManagedAtomic<Bool>(false)
    /// Whether the monitor is deciding from local state alone because Redis is unreachable
    /// (degraded mode: every collector then acts on what it received itself).
    public let degraded = ManagedAtomic<Bool>(false)
    /// Times this collector became the monitor leader.
    public let leadershipsGained = ManagedAtomic<UInt64>(0)
    /// When the last sync round completed (Unix µs; 0 before the first): now minus this is the
    /// sync lag.
    public let lastSyncMicros = ManagedAtomic<Int64>(0)
    /// Completed and failed sync rounds.
    public let syncRounds = ManagedAtomic<UInt64>(0)
    public let syncFailures = ManagedAtomic<UInt64>(0)
    /// Last-seen members sent with `ZADD … GT`, and read back from other collectors.
    public let membersPushed = ManagedAtomic<UInt64>(0)
    public let membersPulled = ManagedAtomic<UInt64>(0)
    /// `start`/`success`/`fail`/`stop` records shared with the other collectors (`XADD`).
    public let eventsShared = ManagedAtomic<UInt64>(0)
    /// Arrivals at other collectors handed to this collector's monitor.
    public let remoteArrivalsForwarded = ManagedAtomic<UInt64>(0)
    /// Stream entries written in a hot-state format this build does not read (a newer collector's),
    /// skipped: a mixed fleet must finish its upgrade (`Spec/upgrading.md`).
    public let entriesRefused = ManagedAtomic<UInt64>(0)
    /// Values read from Redis naming an application id outside this collector's registry, ignored.
    public let remoteValuesIgnored = ManagedAtomic<UInt64>(0)
    /// Instances of applications under a quorum shared with the other collectors (format 2's
    /// `instances`), and sightings dropped because the monitor's queue to the sync was full.
    public let instancesShared = ManagedAtomic<UInt64>(0)
    public let instancesDropped = ManagedAtomic<UInt64>(0)
    /// Times the monitor's remote feed was full (the arrivals are offered again next round).
    public let remoteFeedFull = ManagedAtomic<UInt64>(0)
    /// Transitions published on `heartbeat:transitions`, and publications dropped (queue full).
    public let transitionsPublished = ManagedAtomic<UInt64>(0)
    public let publicationsDropped = ManagedAtomic<UInt64>(0)

    public init() {}
}
