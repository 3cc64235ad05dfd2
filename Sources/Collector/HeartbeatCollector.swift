import Atomics
import CMemory
import Foundation
import Protocol

/// The collector, assembled — its composition root: schema migrated, partitions ready, registry
/// loaded and followed, N receivers on one SO_REUSEPORT address, the drain, the writer pool and
/// the spool, the liveness monitor, the Redis hot state and webhook delivery.
///
/// Lifecycle: `init` does everything that can fail (and fails with a message saying what) and
/// lists the parts as ``services`` in start order; ``start(adding:)`` starts them in that order;
/// ``shutdown()`` stops them in reverse — stop reading, drain the rings, store (or spool) every
/// batch, then stop the rest — so every accepted record is stored or spooled when it returns.
public final class HeartbeatCollector: @unchecked Sendable {
    /// Start-up failed.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    public let configuration: CollectorConfiguration
    public let registry: RegistryLoader
    public let receivers: [DatagramReceiver]
    /// Records that arrive over HTTP, validated and counted like the receivers' (`POST /v1/heartbeats`).
    public let httpIngest: HTTPIngestGate
    public let metrics = StorageMetrics()
    /// What rollups counted and wrote (idle with `--sink none`).
    public let rollupMetrics = RollupMetrics()
    /// Per-application last-seen time and (instance, seq), for the liveness monitor.
    public let lastSeen: LastSeenTable
    public let spool: Spool
    /// Where accepted rows go (`--sink`).
    private let sink: any BatchSink
    private let drain: any CollectorService
    private let autoRegistrar: AutoRegistrar?
    private let monitor: LivenessMonitor?
    /// Every application's liveness as this collector's monitor last saw it, for readers on any
    /// thread (with `--no-monitor`, an empty view that says `last_seen_only`).
    public let liveness: LivenessViewHolder
    /// What the liveness monitor measured (idle when the monitor is off).
    public let monitorMetrics: MonitorMetrics
    /// What the Redis hot state did (idle without `--redis-url`).
    public let hotStateMetrics = HotStateMetrics()
    /// What notification delivery did (idle without a database).
    public let notificationMetrics = NotificationMetrics()
    private let lease: MonitorLease?
    private let hotStateSync: HotStateSync?
    private let publisher: TransitionPublisher?
    private let notifications: NotificationDeliverer?
    private let lastHeartbeats: LastHeartbeatWriter?
    /// Loss-aware delivery (with rollups, a monitor and a threshold).
    private let delivery: DeliveryMonitor?
    /// PostgreSQL reachability and applications by status, for `/readyz` and `/metrics`.
    public let databaseProbe: DatabaseProbe
    private let maintenance: PartitionMaintenance
    /// Every part with threads of its own, in start order (see ``init(configuration:)``).
    public let services: ServiceList

    public init(configuration: CollectorConfiguration) throws(StartError) {
        try Self.step { () throws(CollectorConfiguration.InvalidSetting) in try configuration.validate() }
        self.configuration = configuration
        // Transient buffers of 256 kB or more (spooled batches read back, large statements) get
        // mappings of their own and go back to the system when freed, so RSS stays flat after peaks.
        _ = hb_map_large_allocations(256 << 10)
        let maintainer = PartitionMaintainer(daysAhead: configuration.partitionDaysAhead, retentionDays: configuration.retentionDays)
        let rollupPartitions = PartitionMaintainer(
            table: .rollupMinute, daysAhead: configuration.partitionDaysAhead, retentionDays: configuration.rollupRetentionDays)
        try Self.step { () throws(PostgresError) in
            let connection = try PostgresConnection(url: configuration.databaseURL)
            try Migrator().migrate(connection)
            try maintainer.maintain(connection, nowMicros: WallClock.nowMicros())
            try rollupPartitions.maintain(connection, nowMicros: WallClock.nowMicros())
        }
        // `--webhook-url` is a bootstrap of channels as data: each URL becomes (or updates) a channel.
        if !configuration.webhookURLs.isEmpty, let secret = configuration.webhookSecret {
            try Self.step { () throws(StoreError) in
                let connection: PostgresConnection
                do throws(PostgresError) { connection = try PostgresConnection(url: configuration.databaseURL) } catch { throw .database(error) }
                try ChannelStore.bootstrapWebhooks(configuration.webhookURLs, secret: secret, on: connection)
            }
        }
        let registry = try Self.step { () throws(RegistryLoader.LoadError) in
            try RegistryLoader(
                databaseURL: configuration.databaseURL, allowedSkewMicros: Int64(configuration.allowedSkewSeconds) * 1_000_000,
                pollMillis: configuration.registryPollMillis)
        }
        self.registry = registry
        spool = try Self.step { () throws(Spool.SpoolError) in
            try Spool(directory: configuration.spoolDirectory, capacityBytes: configuration.spoolCapacityBytes)
        }
        // Before the receivers: a validated record their rings have no room for still reaches it.
        let lastSeen = LastSeenTable(capacity: Int(registry.holder.snapshot.maximumApplicationID) + 1)
        self.lastSeen = lastSeen
        let receivers = try Self.openReceivers(configuration, registry: registry.holder, lastSeen: lastSeen)
        self.receivers = receivers
        httpIngest = HTTPIngestGate(
            registry: registry.holder, ringCapacity: 65_536, lastSeen: lastSeen, rateLimit: (configuration.appRateLimit, configuration.appBurst))
        // Every collector with a monitor has a board, `--sink none` included.
        let monitorFeed: RowRing? = configuration.monitor ? RowRing(capacity: 1 << 18) : nil
        liveness = LivenessViewHolder(LivenessView(
            source: configuration.monitor ? .monitor : .lastSeenOnly, role: nil, takenAtMicros: 0, sequence: 0))
        monitorMetrics = MonitorMetrics()
        let hotStateMetrics = self.hotStateMetrics
        let hotState = configuration.redisURL.map { url in
            HotStateParts(url: url, configuration: configuration, lastSeen: lastSeen, registry: registry.holder, metrics: hotStateMetrics)
        }
        hotStateSync = hotState?.sync
        lease = hotState?.lease
        publisher = hotState?.publisher
        let ingestCounters = receivers.map(\.counters) + [httpIngest.counters, httpIngest.pingCounters]
        monitor = monitorFeed.map { [liveness, monitorMetrics] feed in
            LivenessMonitor(
                databaseURL: configuration.databaseURL, registry: registry.holder, lastSeen: lastSeen, feed: feed,
                periodMillis: configuration.monitorPeriodMillis, metrics: monitorMetrics, hotState: hotState?.forMonitor,
                // Arrivals lost for liveness: those the receivers could neither queue nor record, and
                // datagrams the kernel dropped on the port before any receiver read them.
                notSeenTotal: { [udpPort = receivers[0].boundPort] in
                    ingestCounters.reduce(0) { $0 + $1.recordsNotSeen } + KernelUDPDrops.total(port: udpPort)
                },
                // The incident hold's signals: what arrived, and what was lost before the monitor
                // saw it (dropped by the kernel, or refused because a ring was full).
                trafficTotals: { [udpPort = receivers[0].boundPort] in
                    (ingestCounters.reduce(0) { $0 + $1.recordsReceived },
                     ingestCounters.reduce(0) { $0 + $1.recordsRejected(.overload) } + KernelUDPDrops.total(port: udpPort))
                },
                incidentSettings: configuration.incidentSettings, views: liveness)
        }
        databaseProbe = DatabaseProbe(databaseURL: configuration.databaseURL)
        lastHeartbeats = configuration.sink == .postgres ? LastHeartbeatWriter(databaseURL: configuration.databaseURL, lastSeen: lastSeen) : nil
        // Every collector delivers the outbox (rows are claimed, never taken twice at once).
        notifications = configuration.sink == .none
            ? nil
            : NotificationDeliverer(
                databaseURL: configuration.databaseURL, settings: configuration.notificationSettings, metrics: notificationMetrics,
                activeSilences: { [holder = registry.holder] in ActiveSilences(holder.snapshot, nowMicros: WallClock.nowMicros()) })
        // Rollups are storage: with `--sink none` nothing is written, rollups included.
        let rollups = configuration.sink == .none
            ? nil
            : RollupWriter(
                databaseURL: configuration.databaseURL, expectedKeys: Int(registry.holder.snapshot.maximumApplicationID) + 1,
                partitions: rollupPartitions, metrics: rollupMetrics)
        (sink, drain) = Self.storage(
            configuration, rings: receivers.map { ($0.ring, .udp) } + [(httpIngest.ring, .httpRecords), (httpIngest.pingRing, .httpPing)], spool: spool, partitions: maintainer, metrics: metrics,
            lastSeen: lastSeen, monitorFeed: monitorFeed, sharedEvents: hotState?.localEvents, rollups: rollups)
        delivery = rollups != nil && configuration.monitor && configuration.deliveryLossThresholdPercent > 0
            ? DeliveryMonitor(
                databaseURL: configuration.databaseURL,
                health: DeliveryHealth(
                    threshold: Double(configuration.deliveryLossThresholdPercent) / 100, minimumExpected: Int64(configuration.deliveryMinimumExpected)),
                isLeader: { [hotStateMetrics, redisConfigured = configuration.redisURL != nil] in
                    !redisConfigured || hotStateMetrics.isLeader.load(ordering: .relaxed)
                })
            : nil
        autoRegistrar = configuration.autoRegister
            ? AutoRegistrar(
                rings: receivers.compactMap(\.unknownApplications), registry: registry.holder,
                databaseURL: configuration.databaseURL, perMinute: configuration.autoRegisterPerMinute,
                maximum: configuration.autoRegisterMaximum)
            : nil
        maintenance = PartitionMaintenance(
            maintainers: [maintainer, rollupPartitions], databaseURL: configuration.databaseURL, runRetentionDays: configuration.runRetentionDays,
            rollupRetentionDays: configuration.rollupRetentionDays, rollupMetrics: rollupMetrics)
        // Start order; shutdown is the reverse. Each part relies only on parts before it: the
        // monitor and the drain on the registry, the writers, the hot state and the publisher; the
        // receivers (last) on the drain emptying their rings. So reading stops first, the drain
        // then empties the rings into the writers, and the hot state's and last-heartbeat writer's
        // final flushes carry the last arrivals.
        let parts: [(any CollectorService)?] = [
            registry, maintenance, autoRegistrar, lease, hotStateSync, publisher, notifications, lastHeartbeats, databaseProbe, delivery, rollups, sink,
            monitor, drain,
        ]
        services = ServiceList(parts.compactMap { $0 } + receivers)
    }

    /// Runs one step of start-up, turning its failure into a ``StartError`` with its message.
    private static func step<Value, Failure: Error>(_ body: () throws(Failure) -> Value) throws(StartError) -> Value {
        do {
            return try body()
        } catch {
            throw StartError(description: "\(error)")
        }
    }

    /// `--receivers` receivers on one address (SO_REUSEPORT); with port 0 the kernel picks one for
    /// the first and the others share it. A port another process holds is refused first, unless
    /// `--share-udp-port`.
    private static func openReceivers(
        _ configuration: CollectorConfiguration, registry: RegistryHolder, lastSeen: LastSeenTable
    ) throws(StartError) -> [DatagramReceiver] {
        if !configuration.shareUDPPort, configuration.udp.port != 0 {
            try step { () throws(DatagramReceiver.SocketError) in try DatagramReceiver.checkPortIsFree(configuration.udp) }
        }
        var receivers = [DatagramReceiver]()
        var address = configuration.udp
        for _ in 0..<configuration.receivers {
            let receiver = try step { () throws(DatagramReceiver.SocketError) in
                try DatagramReceiver(
                    address: address, registry: registry, ringCapacity: configuration.ringCapacity,
                    receiveBufferBytes: configuration.receiveBufferBytes, rateLimit: (configuration.appRateLimit, configuration.appBurst),
                    reportUnknownApplications: configuration.autoRegister, lastSeen: lastSeen)
            }
            if address.port == 0, let shared = try? ListenAddress(parsing: ListenAddress.format(host: address.host, port: receiver.boundPort)) {
                address = shared
            }
            receivers.append(receiver)
        }
        return receivers
    }

    /// The sink `--sink` names, and the drain specialised for it: the one place that picks.
    private static func storage(
        _ configuration: CollectorConfiguration, rings: [(ring: RowRing, transport: IngestTransport)], spool: Spool, partitions: PartitionMaintainer, metrics: StorageMetrics,
        lastSeen: LastSeenTable, monitorFeed: RowRing?, sharedEvents: RowRing?, rollups: RollupWriter?
    ) -> (sink: any BatchSink, drain: any CollectorService) {
        func drain<Sink: BatchSink>(into sink: Sink) -> (sink: any BatchSink, drain: any CollectorService) {
            let drain = IngestDrain(
                rings: rings, sink: sink, metrics: metrics, lastSeen: lastSeen,
                replayIdleSeconds: configuration.replayIdleSeconds, rateLimit: (configuration.appRateLimit, configuration.appBurst),
                instanceLimits: (configuration.appMaxInstances, configuration.maxInstances), monitorFeed: monitorFeed, sharedEvents: sharedEvents,
                rollups: rollups, rawEvents: configuration.rawEvents, rollupFlushSeconds: configuration.rollupFlushSeconds)
            return (sink, drain)
        }
        switch configuration.sink {
        case .postgres:
            let pool = BatchWriterPool(
                databaseURL: configuration.databaseURL, connections: configuration.writerConnections,
                queueDepth: configuration.writerConnections * 2, expectedRows: configuration.batchRows, spool: spool, metrics: metrics,
                partitions: partitions, stallLimitMillis: configuration.storageStallLimitMillis)
            return drain(into: PostgresSink(pool: pool, batchRows: configuration.batchRows, batchAgeMillis: configuration.batchAgeMillis))
        case .none:
            return drain(into: DiscardSink(metrics: metrics))
        }
    }

    /// Partition maintenance runs that failed.
    var failedMaintenance: UInt64 { maintenance.failedRuns.load(ordering: .relaxed) }

    /// Whether rows have waited 30 s with no commit (PostgreSQL refusing or stalled): `/readyz`
    /// then says storage is not ready.
    var isStorageStalled: Bool { sink.isStalled(nowMicros: WallClock.nowMicros()) }

    /// Publishes a notification rendered elsewhere (an operator's pause or resume) on the Redis
    /// channel, when Redis is configured.
    public func publishNotification(_ payload: String) {
        publisher?.publish([payload])
    }

    /// Every application's profile and liveness, from memory: what status reads answer.
    public func liveStatus() -> LiveStatus {
        // The view first: a registry read after it is at least as new, so every application the
        // view holds has a profile unless it was deleted meanwhile.
        let view = liveness.view
        return LiveStatus(registry: registry.holder.snapshot, view: view)
    }

    /// Makes the registry follower look for a change now (after a write through the API).
    public func checkRegistryNow() {
        registry.checkNow()
    }

    /// The UDP port the receivers share.
    public var udpPort: UInt16 { receivers[0].boundPort }

    /// The smallest receive buffer the kernel granted (Linux caps requests at `net.core.rmem_max`).
    public var grantedReceiveBufferBytes: Int { receivers.map(\.receiveBufferBytes).min() ?? 0 }

    /// Starts every service in order, then `extra` ones (the HTTP sidecar), which shutdown then
    /// stops first. If one fails to start, those started are stopped and the error names it.
    public func start(adding extra: [any CollectorService] = []) throws(ServiceList.StartError) {
        services.append(extra)
        try services.start()
    }

    /// Stops every service in reverse start order: reading stops, the drain stores (or spools)
    /// everything, the rest follows.
    public func shutdown() {
        services.stop()
    }

    /// The totals right now.
    public var statistics: IngestStatistics {
        var statistics = IngestStatistics()
        let entrances: [(IngestTransport, IngestCounters, RowRing)] =
            receivers.map { (.udp, $0.counters, $0.ring) } + [(.httpRecords, httpIngest.counters, httpIngest.ring), (.httpPing, httpIngest.pingCounters, httpIngest.pingRing)]
        for (transport, counters, ring) in entrances {
            var counts = statistics.byTransport[transport] ?? .init()
            counts.received += counters.recordsReceived
            for reason in RejectionReason.allCases {
                counts.rejected[reason, default: 0] += counters.recordsRejected(reason)
                statistics.rejected[reason, default: 0] += counters.recordsRejected(reason)
            }
            statistics.byTransport[transport] = counts
            statistics.recordsReceived += counters.recordsReceived
            statistics.ringOccupancy += ring.occupancy
            statistics.recordsSeenOnOverflow += counters.recordsSeenOnOverflow
            statistics.recordsNotSeen += counters.recordsNotSeen
        }
        // The drain's decisions, per transport here and in all below.
        for transport in IngestTransport.allCases {
            var counts = statistics.byTransport[transport] ?? .init()
            counts.accepted = metrics.transports.accepted(transport)
            for reason in [RejectionReason.replay, .rateLimited, .instanceLimit] {
                counts.rejected[reason, default: 0] += metrics.transports.rejected(transport, reason)
            }
            statistics.byTransport[transport] = counts
        }
        statistics.rejected[.replay, default: 0] += metrics.recordsReplayRejected.load(ordering: .relaxed)
        statistics.rejected[.rateLimited, default: 0] += metrics.recordsRateLimited.load(ordering: .relaxed)
        statistics.rejected[.instanceLimit, default: 0] += metrics.recordsInstanceLimited.load(ordering: .relaxed)
        statistics.recordsAccepted = metrics.recordsAccepted.load(ordering: .relaxed)
        statistics.rowsStored = metrics.rowsStored.load(ordering: .relaxed)
        statistics.rowsSpooled = metrics.rowsSpooled.load(ordering: .relaxed)
        statistics.rowsReplayedFromSpool = metrics.rowsReplayed.load(ordering: .relaxed)
        statistics.rowsDroppedSpoolFull = metrics.rowsDroppedSpoolFull.load(ordering: .relaxed)
        statistics.rowsDroppedSpoolCorrupt = metrics.rowsDroppedSpoolCorrupt.load(ordering: .relaxed)
        statistics.rowsDroppedSpoolError = metrics.rowsDroppedSpoolError.load(ordering: .relaxed)
        statistics.rowsDroppedStorageBusy = metrics.rowsDroppedStorageBusy.load(ordering: .relaxed)
        statistics.rowsDiscarded = metrics.rowsDiscarded.load(ordering: .relaxed)
        statistics.rowsNotKeptRaw = metrics.rawEventsSkipped.load(ordering: .relaxed)
        statistics.rowsDeadLettered = metrics.rowsDeadLettered.load(ordering: .relaxed)
        statistics.rowsDeadLetteredFromSpool = metrics.rowsDeadLetteredFromSpool.load(ordering: .relaxed)
        statistics.spoolRows = spool.pendingRows
        let first = metrics.firstAcceptedReceivedMicros.load(ordering: .relaxed)
        let last = metrics.lastCommitMicros.load(ordering: .relaxed)
        statistics.ingestWindowMillis = first > 0 && last > first ? (last - first) / 1_000 : 0
        return statistics
    }

    /// Everything the collector counts and measures, now (see ``CollectorSnapshot``).
    public func snapshot() -> CollectorSnapshot {
        var snapshot = CollectorSnapshot()
        snapshot.takenAtMicros = WallClock.nowMicros()
        snapshot.udpPort = udpPort
        snapshot.ingest = statistics
        snapshot.storage.batchesSpilled = metrics.batchesSpilledOnStall.load(ordering: .relaxed)
        snapshot.storage.spoolFilesQuarantined = spool.filesQuarantinedAtOpen
        snapshot.storage.spoolBytes = spool.pendingBytes
        snapshot.storage.spoolCapacityBytes = spool.capacityBytes
        snapshot.storage.replayWindows = Int(metrics.replayWindows.load(ordering: .relaxed))
        snapshot.storage.stalled = isStorageStalled
        snapshot.storage.udpKernelDrops = KernelUDPDrops.total(port: udpPort)
        snapshot.storage.ringCapacityRows = configuration.ringCapacity * receivers.count
        sink.describe(into: &snapshot.storage)
        snapshot.storage.writerConnections = configuration.writerConnections
        snapshot.storage.monitorEventsDropped = metrics.monitorEventsDropped.load(ordering: .relaxed)
        snapshot.storage.flushSeconds = metrics.flushSeconds.snapshot
        snapshot.storage.receiveToCommitSeconds = metrics.commitLatencySeconds.snapshot

        let registrySnapshot = registry.holder.snapshot
        snapshot.registry.version = registrySnapshot.version
        snapshot.registry.applications = registrySnapshot.validator.applications.count
        snapshot.registry.reloadFailures = registry.failedReloads.load(ordering: .relaxed)
        snapshot.registry.applicationsAutoRegistered = autoRegistrar?.registered.load(ordering: .relaxed) ?? 0
        snapshot.registry.autoRegistrationsSkipped = autoRegistrar?.skippedAtCap.load(ordering: .relaxed) ?? 0
        snapshot.registry.partitionMaintenanceFailures = failedMaintenance
        snapshot.runs.expired = maintenance.runsExpired.load(ordering: .relaxed)
        snapshot.rollups.enabled = configuration.sink == .postgres
        snapshot.rollups.rawEvents = configuration.rawEvents.rawValue
        snapshot.rollups.recordsCounted = rollupMetrics.recordsCounted.load(ordering: .relaxed)
        snapshot.rollups.recordsUncounted = rollupMetrics.recordsUncounted.load(ordering: .relaxed)
        snapshot.rollups.recordsWritten = rollupMetrics.recordsWritten.load(ordering: .relaxed)
        snapshot.rollups.recordsLost = rollupMetrics.recordsLost.load(ordering: .relaxed)
        snapshot.rollups.rowsWritten = rollupMetrics.rowsWritten.load(ordering: .relaxed)
        snapshot.rollups.writeFailures = rollupMetrics.writeFailures.load(ordering: .relaxed)
        snapshot.rollups.lastWriteMicros = rollupMetrics.lastWriteMicros.load(ordering: .relaxed)
        snapshot.rollups.daysDerived = rollupMetrics.daysDerived.load(ordering: .relaxed)
        snapshot.rollups.deliveryDegradedRecorded = delivery?.degradedRecorded.load(ordering: .relaxed) ?? 0
        snapshot.rollups.deliveryRecoveredRecorded = delivery?.recoveredRecorded.load(ordering: .relaxed) ?? 0
        snapshot.rollups.deliveryCheckFailures = delivery?.failedChecks.load(ordering: .relaxed) ?? 0
        snapshot.runs.pingLogs = httpIngest.logOutcomes
        snapshot.registry.lastHeartbeatRowsWritten = lastHeartbeats?.applicationsWritten.load(ordering: .relaxed) ?? 0
        snapshot.registry.lastHeartbeatWriteFailures = lastHeartbeats?.failures.load(ordering: .relaxed) ?? 0

        let hot = hotStateMetrics
        let redisConfigured = configuration.redisURL != nil
        snapshot.monitor.role = monitor == nil
            ? "off"
            : !redisConfigured ? "alone" : hot.isLeader.load(ordering: .relaxed) ? "leader" : hot.degraded.load(ordering: .relaxed) ? "degraded" : "follower"
        let view = liveness.view
        snapshot.monitor.view = view.source.rawValue
        snapshot.monitor.viewTakenAtMicros = view.takenAtMicros
        snapshot.monitor.applicationsByStatus = databaseProbe.applicationsByStatus
        snapshot.monitor.transitionsRecorded = monitorMetrics.transitionsRecorded.load(ordering: .relaxed)
        snapshot.monitor.stalls = monitorMetrics.stalls.load(ordering: .relaxed)
        snapshot.monitor.lossHolds = monitorMetrics.lossHolds.load(ordering: .relaxed)
        snapshot.monitor.failures = monitorMetrics.failures.load(ordering: .relaxed)
        snapshot.monitor.checkSeconds = monitorMetrics.checkSeconds.snapshot
        snapshot.monitor.checkCPUSeconds = monitorMetrics.checkCPUSeconds.snapshot
        snapshot.monitor.incidentsOpened = Dictionary(uniqueKeysWithValues: IncidentDetector.Cause.allCases.enumerated().map {
            ($1.rawValue, monitorMetrics.incidentsOpened[$0].load(ordering: .relaxed))
        })
        snapshot.monitor.incidentsClosed = monitorMetrics.incidentsClosed.load(ordering: .relaxed)
        snapshot.monitor.incidentApplicationsReleased = monitorMetrics.incidentApplicationsReleased.load(ordering: .relaxed)
        let openSince = monitorMetrics.incidentOpenSinceMicros.load(ordering: .relaxed)
        let cause = monitorMetrics.incidentCause.load(ordering: .relaxed)
        snapshot.monitor.openIncident = openSince == 0
            ? nil
            : .init(since: openSince, cause: IncidentDetector.Cause.allCases.indices.contains(cause) ? IncidentDetector.Cause.allCases[cause].rawValue : "unknown")
        snapshot.monitor.detectionDelaySeconds = monitorMetrics.detectionDelaySeconds.snapshot

        snapshot.hotState.configured = redisConfigured
        snapshot.hotState.redisUp = hot.redisReachable.load(ordering: .relaxed)
        snapshot.hotState.leader = hot.isLeader.load(ordering: .relaxed)
        snapshot.hotState.degraded = hot.degraded.load(ordering: .relaxed)
        snapshot.hotState.leaderships = hot.leadershipsGained.load(ordering: .relaxed)
        let lastSync = hot.lastSyncMicros.load(ordering: .relaxed)
        snapshot.hotState.syncLagSeconds = redisConfigured && lastSync > 0 ? max(0, Double(snapshot.takenAtMicros - lastSync) / 1e6) : 0
        snapshot.hotState.syncFailures = hot.syncFailures.load(ordering: .relaxed)
        snapshot.hotState.membersPushed = hot.membersPushed.load(ordering: .relaxed)
        snapshot.hotState.membersPulled = hot.membersPulled.load(ordering: .relaxed)
        snapshot.hotState.remoteArrivals = hot.remoteArrivalsForwarded.load(ordering: .relaxed)
        snapshot.hotState.valuesIgnored = hot.remoteValuesIgnored.load(ordering: .relaxed)
        snapshot.hotState.entriesRefused = hot.entriesRefused.load(ordering: .relaxed)
        snapshot.hotState.instancesShared = hot.instancesShared.load(ordering: .relaxed)
        snapshot.hotState.instancesDropped = hot.instancesDropped.load(ordering: .relaxed)
        snapshot.hotState.transitionsPublished = hot.transitionsPublished.load(ordering: .relaxed)
        snapshot.hotState.publicationsDropped = hot.publicationsDropped.load(ordering: .relaxed)

        let sent = notificationMetrics
        snapshot.notifications.configured = notifications != nil
        snapshot.notifications.delivered = sent.delivered.load(ordering: .relaxed)
        snapshot.notifications.failedAttempts = sent.failedAttempts.load(ordering: .relaxed)
        snapshot.notifications.abandoned = sent.abandoned.load(ordering: .relaxed)
        snapshot.notifications.skipped = sent.skipped.load(ordering: .relaxed)
        snapshot.notifications.queueDepth = Int(sent.queueDepth.load(ordering: .relaxed))
        snapshot.notifications.expired = sent.notificationsExpired.load(ordering: .relaxed)
        snapshot.notifications.reminders = sent.remindersQueued.load(ordering: .relaxed)
        snapshot.notifications.heldReleased = sent.heldReleased.load(ordering: .relaxed)
        snapshot.notifications.heldDropped = sent.heldDropped.load(ordering: .relaxed)
        snapshot.notifications.databaseFailures = sent.databaseFailures.load(ordering: .relaxed)
        snapshot.notifications.silencesActive = registry.holder.snapshot.silences.active(atMicros: WallClock.nowMicros()).count
        snapshot.notifications.selfPingsSent = sent.selfPingsSent.load(ordering: .relaxed)
        snapshot.notifications.selfPingsFailed = sent.selfPingsFailed.load(ordering: .relaxed)
        snapshot.notifications.channels = sent.perChannel.sorted { $0.key < $1.key }.map { id, outcome in
            CollectorSnapshot.Notifications.Channel(
                id: id, name: outcome.name, kind: outcome.kind, delivered: outcome.delivered, failed: outcome.failed, abandoned: outcome.abandoned)
        }

        snapshot.postgresUp = databaseProbe.isReachable
        snapshot.residentMemoryBytes = ResidentMemory.bytes
        return snapshot
    }
}

extension ListenAddress {
    /// `HOST:PORT` text for a host and port, brackets around IPv6.
    static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension HeartbeatCollector {
    /// Sends a test notification to `channel` now, as delivery would (`POST /v1/channels/{id}/test`);
    /// nil when the channel took it, else what went wrong.
    public func sendTestNotification(to channel: NotificationChannel) -> String? {
        TestNotification.send(to: channel, settings: configuration.notificationSettings)
    }
}
