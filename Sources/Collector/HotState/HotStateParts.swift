/// The Redis hot state's parts for one collector: last-seen shared both ways, non-beat records
/// shared, the monitor lease and the transition channel (`Spec/hot-state.md`).
struct HotStateParts {
    let sync: HotStateSync
    let lease: MonitorLease
    let publisher: TransitionPublisher
    /// Accepted non-beat records, from the drain to the sync thread.
    let localEvents: RowRing
    /// Arrivals at other collectors, from the sync thread to the monitor.
    let remoteFeed: RowRing
    /// Instances of applications under a quorum: heard here (monitor → sync) and elsewhere
    /// (sync → monitor).
    let localInstances: RowRing
    let remoteInstances: RowRing
    let metrics: HotStateMetrics

    init(url: String, configuration: CollectorConfiguration, lastSeen: LastSeenTable, registry: RegistryHolder, metrics: HotStateMetrics) {
        localEvents = RowRing(capacity: 1 << 16)
        remoteFeed = RowRing(capacity: 1 << 18)
        localInstances = RowRing(capacity: 1 << 16)
        remoteInstances = RowRing(capacity: 1 << 16)
        sync = HotStateSync(
            url: url, keyPrefix: configuration.redisKeyPrefix, collectorID: configuration.collectorID, lastSeen: lastSeen, localEvents: localEvents,
            remoteFeed: remoteFeed, periodMillis: configuration.redisSyncMillis, metrics: metrics, registry: registry, localInstances: localInstances,
            remoteInstances: remoteInstances, writeVersion: configuration.hotStateVersion)
        lease = MonitorLease(url: url, keyPrefix: configuration.redisKeyPrefix, holderID: configuration.collectorID, metrics: metrics)
        publisher = TransitionPublisher(url: url, keyPrefix: configuration.redisKeyPrefix, metrics: metrics)
        self.metrics = metrics
    }

    /// The monitor's links to these parts.
    var forMonitor: LivenessMonitor.HotState {
        LivenessMonitor.HotState(
            remoteFeed: remoteFeed, localInstances: localInstances, remoteInstances: remoteInstances, lease: lease, sync: sync, publisher: publisher,
            metrics: metrics)
    }
}
