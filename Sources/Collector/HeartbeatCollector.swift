import Atomics
import CMemory
import Foundation
import Protocol

/// The collector's ingest path, assembled: schema migrated, partitions ready, registry loaded and
/// followed, N receivers on one SO_REUSEPORT address, the drain, the writer pool and the spool.
///
/// Lifecycle: `init` does everything that can fail (and fails with a message saying what);
/// ``start()`` starts the threads; ``shutdown()`` stops in reverse order — stop reading, drain the
/// rings, store (or spool) every batch, then stop the rest — so every accepted record is stored or
/// spooled when it returns.
public final class IngestPipeline: @unchecked Sendable {
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
    /// Per-application last-seen time and (instance, seq), for the liveness monitor.
    public let lastSeen: LastSeenTable
    public let spool: Spool
    private let pool: BatchWriterPool
    private let drain: IngestDrain
    private let autoRegistrar: AutoRegistrar?
    private let monitor: LivenessMonitor?
    /// What the liveness monitor measured (idle when the monitor is off).
    public let monitorMetrics: MonitorMetrics
    /// What the Redis hot state did (idle without `--redis-url`).
    public let hotStateMetrics = HotStateMetrics()
    /// What webhook delivery did (idle without `--webhook-url`).
    public let webhookMetrics = WebhookMetrics()
    private let lease: MonitorLease?
    private let hotStateSync: HotStateSync?
    private let publisher: TransitionPublisher?
    private let webhooks: WebhookDeliverer?
    private let lastHeartbeats: LastHeartbeatWriter?
    /// PostgreSQL reachability and applications by status, for `/readyz` and `/metrics`.
    public let databaseProbe: DatabaseProbe
    private let maintenance = WorkerThread()
    /// Partition maintenance runs that failed.
    public let failedMaintenance = ManagedAtomic<UInt64>(0)

    public init(configuration: CollectorConfiguration) throws(StartError) {
        do throws(CollectorConfiguration.InvalidSetting) {
            try configuration.validate()
        } catch {
            throw StartError(description: "\(error)")
        }
        self.configuration = configuration
        // Transient buffers of 256 kB or more (spooled batches read back, large statements) get
        // mappings of their own and go back to the system when freed, so RSS stays flat after peaks.
        _ = hb_map_large_allocations(256 << 10)
        let maintainer = PartitionMaintainer(daysAhead: configuration.partitionDaysAhead, retentionDays: configuration.retentionDays)
        do throws(PostgresError) {
            let connection = try PostgresConnection(url: configuration.databaseURL)
            try Migrator().migrate(connection)
            try maintainer.maintain(connection, nowMicros: WallClock.nowMicros())
        } catch {
            throw StartError(description: "\(error)")
        }
        do throws(RegistryLoader.LoadError) {
            registry = try RegistryLoader(
                databaseURL: configuration.databaseURL, allowedSkewMicros: Int64(configuration.allowedSkewSeconds) * 1_000_000,
                pollMillis: configuration.registryPollMillis)
        } catch {
            throw StartError(description: "\(error)")
        }
        do throws(Spool.SpoolError) {
            spool = try Spool(directory: configuration.spoolDirectory, capacityBytes: configuration.spoolCapacityBytes)
        } catch {
            throw StartError(description: "\(error)")
        }
        if !configuration.shareUDPPort, configuration.udp.port != 0 {
            do throws(DatagramReceiver.SocketError) {
                try DatagramReceiver.checkPortIsFree(configuration.udp)
            } catch {
                throw StartError(description: "\(error)")
            }
        }
        // Before the receivers: a validated record their rings have no room for still reaches it.
        let lastSeen = LastSeenTable(capacity: Int(registry.holder.snapshot.maximumApplicationID) + 1)
        self.lastSeen = lastSeen
        var receivers = [DatagramReceiver]()
        var address = configuration.udp
        for _ in 0..<configuration.receivers {
            do throws(DatagramReceiver.SocketError) {
                let receiver = try DatagramReceiver(
                    address: address, registry: registry.holder, ringCapacity: configuration.ringCapacity,
                    receiveBufferBytes: configuration.receiveBufferBytes, rateLimit: (configuration.appRateLimit, configuration.appBurst),
                    reportUnknownApplications: configuration.autoRegister, lastSeen: lastSeen)
                // With port 0 the kernel picks one; the other receivers share it.
                if address.port == 0, let shared = try? ListenAddress(parsing: ListenAddress.format(host: address.host, port: receiver.boundPort)) {
                    address = shared
                }
                receivers.append(receiver)
            } catch {
                throw StartError(description: "\(error)")
            }
        }
        self.receivers = receivers
        httpIngest = HTTPIngestGate(registry: registry.holder, ringCapacity: 65_536, lastSeen: lastSeen)
        let ingestCounters = receivers.map(\.counters) + [httpIngest.counters]
        pool = BatchWriterPool(
            databaseURL: configuration.databaseURL, connections: configuration.writerConnections,
            queueDepth: configuration.writerConnections * 2, expectedRows: configuration.batchRows, spool: spool, metrics: metrics,
            partitions: maintainer, stallLimitMillis: configuration.storageStallLimitMillis, discard: configuration.sink == .none)
        let monitorFeed: RowRing? = configuration.monitor && configuration.sink == .postgres ? RowRing(capacity: 1 << 18) : nil
        let monitorMetrics = MonitorMetrics()
        self.monitorMetrics = monitorMetrics
        let holder = registry.holder
        // Redis hot state: last-seen shared both ways, non-beat records shared, the leader lease.
        var sharedEvents: RowRing?
        var monitorHotState: LivenessMonitor.HotState?
        if let redisURL = configuration.redisURL {
            let localEvents = RowRing(capacity: 1 << 16)
            let remoteFeed = RowRing(capacity: 1 << 18)
            sharedEvents = localEvents
            let sync = HotStateSync(
                url: redisURL, keyPrefix: configuration.redisKeyPrefix, collectorID: configuration.collectorID, lastSeen: lastSeen, localEvents: localEvents,
                remoteFeed: remoteFeed, periodMillis: configuration.redisSyncMillis, metrics: hotStateMetrics, registry: holder)
            hotStateSync = sync
            let lease = MonitorLease(url: redisURL, keyPrefix: configuration.redisKeyPrefix, holderID: configuration.collectorID, metrics: hotStateMetrics)
            let publisher = TransitionPublisher(url: redisURL, keyPrefix: configuration.redisKeyPrefix, metrics: hotStateMetrics)
            self.lease = lease
            self.publisher = publisher
            if monitorFeed != nil {
                monitorHotState = LivenessMonitor.HotState(remoteFeed: remoteFeed, lease: lease, sync: sync, publisher: publisher, metrics: hotStateMetrics)
            }
        } else {
            hotStateSync = nil
            lease = nil
            publisher = nil
        }
        monitor = monitorFeed.map { feed in
            LivenessMonitor(
                databaseURL: configuration.databaseURL, registry: holder, lastSeen: lastSeen, feed: feed,
                periodMillis: configuration.monitorPeriodMillis, metrics: monitorMetrics, hotState: monitorHotState,
                webhookURLs: configuration.webhookURLs,
                // Arrivals lost for liveness: those the receivers could neither queue nor record, and
                // datagrams the kernel dropped on the port before any receiver read them.
                notSeenTotal: { [udpPort = receivers[0].boundPort] in
                    ingestCounters.reduce(0) { $0 + $1.recordsNotSeen } + KernelUDPDrops.total(port: udpPort)
                })
        }
        databaseProbe = DatabaseProbe(databaseURL: configuration.databaseURL)
        lastHeartbeats = configuration.sink == .postgres ? LastHeartbeatWriter(databaseURL: configuration.databaseURL, lastSeen: lastSeen) : nil
        // Every collector delivers the outbox (rows are claimed, never taken twice at once).
        webhooks = configuration.webhookURLs.isEmpty || configuration.sink == .none
            ? nil
            : WebhookDeliverer(
                databaseURL: configuration.databaseURL,
                settings: WebhookDeliverer.Settings(secret: Array((configuration.webhookSecret ?? "").utf8)), metrics: webhookMetrics)
        drain = IngestDrain(
            rings: receivers.map(\.ring) + [httpIngest.ring], pool: pool, metrics: metrics, lastSeen: lastSeen, batchRows: configuration.batchRows,
            batchAgeMillis: configuration.batchAgeMillis, replayIdleSeconds: configuration.replayIdleSeconds,
            rateLimit: (configuration.appRateLimit, configuration.appBurst),
            instanceLimits: (configuration.appMaxInstances, configuration.maxInstances),
            discard: configuration.sink == .none, monitorFeed: monitorFeed, sharedEvents: sharedEvents)
        autoRegistrar = configuration.autoRegister
            ? AutoRegistrar(
                rings: receivers.compactMap(\.unknownApplications), registry: registry.holder,
                databaseURL: configuration.databaseURL, perMinute: configuration.autoRegisterPerMinute,
                maximum: configuration.autoRegisterMaximum)
            : nil
        startMaintenance(maintainer)
    }

    /// `application.last_heartbeat` rows written, and failed flushes (0 with `--sink none`).
    public var lastHeartbeatWrites: (rows: UInt64, failures: UInt64) {
        (lastHeartbeats?.applicationsWritten.load(ordering: .relaxed) ?? 0, lastHeartbeats?.failures.load(ordering: .relaxed) ?? 0)
    }

    /// Whether rows have waited 30 s with no commit (PostgreSQL refusing or stalled): `/readyz`
    /// then says storage is not ready.
    public var isStorageStalled: Bool { pool.isStalled(nowMicros: WallClock.nowMicros()) }

    /// Rows that could not be written to the dead-letter file (at its cap, or a disk error); they
    /// are counted as dead-lettered all the same.
    public var deadLetterRowsUnwritten: UInt64 { pool.deadLetters.unwrittenRows.load(ordering: .relaxed) }

    /// Batches waiting for a writer, and the writers' PostgreSQL connections.
    public var writerQueue: (queued: Int, connections: Int) { (pool.queueDepth, configuration.writerConnections) }

    /// Publishes a notification rendered elsewhere (an operator's pause or resume) on the Redis
    /// channel, when Redis is configured.
    public func publishNotification(_ payload: String) {
        publisher?.publish([payload])
    }

    /// Unknown applications not registered because the total cap of unnamed auto-registered
    /// applications was reached (0 unless auto-registration is on).
    public var autoRegistrationsSkippedAtCap: UInt64 { autoRegistrar?.skippedAtCap.load(ordering: .relaxed) ?? 0 }

    /// Applications auto-registered so far (0 unless auto-registration is on).
    public var applicationsAutoRegistered: UInt64 { autoRegistrar?.registered.load(ordering: .relaxed) ?? 0 }

    /// The UDP port the receivers share.
    public var udpPort: UInt16 { receivers[0].boundPort }

    /// The smallest receive buffer the kernel granted (Linux caps requests at `net.core.rmem_max`).
    public var grantedReceiveBufferBytes: Int { receivers.map(\.receiveBufferBytes).min() ?? 0 }

    /// Starts the registry follower, the drain and the receivers.
    public func start() {
        registry.start()
        autoRegistrar?.start()
        lease?.start()
        hotStateSync?.start()
        publisher?.start()
        webhooks?.start()
        lastHeartbeats?.start()
        databaseProbe.start()
        monitor?.start()
        drain.start()
        receivers.forEach { $0.start() }
    }

    /// Stops reading, drains and stores (or spools) everything, then stops the rest.
    public func shutdown() {
        receivers.forEach { $0.stop() }
        drain.stopAfterDraining()
        pool.shutdown()
        monitor?.stop()
        publisher?.stop()
        hotStateSync?.stop()  // after the drain: its last push carries the final last-seen times
        lease?.stop()  // gives the lease up: another collector's monitor takes over at once
        webhooks?.stop()
        lastHeartbeats?.stop()  // after the drain: its final flush stores the last arrivals
        databaseProbe.stop()
        autoRegistrar?.stop()
        registry.stop()
        maintenance.stop()
    }

    /// The totals right now.
    public var statistics: IngestStatistics {
        var statistics = IngestStatistics()
        for receiver in receivers {
            statistics.recordsReceived += receiver.counters.recordsReceived
            for reason in RejectionReason.allCases {
                statistics.rejected[reason, default: 0] += receiver.counters.recordsRejected(reason)
            }
            statistics.ringOccupancy += receiver.ring.occupancy
        }
        statistics.recordsReceived += httpIngest.counters.recordsReceived
        for reason in RejectionReason.allCases {
            statistics.rejected[reason, default: 0] += httpIngest.counters.recordsRejected(reason)
        }
        statistics.ringOccupancy += httpIngest.ring.occupancy
        for counters in receivers.map(\.counters) + [httpIngest.counters] {
            statistics.recordsSeenOnOverflow += counters.recordsSeenOnOverflow
            statistics.recordsNotSeen += counters.recordsNotSeen
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
        statistics.rowsDeadLettered = metrics.rowsDeadLettered.load(ordering: .relaxed)
        statistics.rowsDeadLetteredFromSpool = metrics.rowsDeadLetteredFromSpool.load(ordering: .relaxed)
        statistics.spoolRows = spool.pendingRows
        let first = metrics.firstAcceptedReceivedMicros.load(ordering: .relaxed)
        let last = metrics.lastCommitMicros.load(ordering: .relaxed)
        statistics.ingestWindowMillis = first > 0 && last > first ? (last - first) / 1_000 : 0
        return statistics
    }

    /// Creates partitions ahead and drops expired ones every ten minutes.
    private func startMaintenance(_ maintainer: PartitionMaintainer) {
        let url = configuration.databaseURL
        maintenance.start(name: "heartbeat-maintenance") { [self] in
            var elapsedMillis = 0
            while !maintenance.isStopRequested {
                usleep(100_000)
                elapsedMillis += 100
                guard elapsedMillis >= 600_000 else { continue }
                elapsedMillis = 0
                do throws(PostgresError) {
                    try maintainer.maintain(PostgresConnection(url: url), nowMicros: WallClock.nowMicros())
                } catch {
                    failedMaintenance.wrappingIncrement(ordering: .relaxed)
                }
            }
        }
    }
}

extension ListenAddress {
    /// `HOST:PORT` text for a host and port, brackets around IPv6.
    static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
