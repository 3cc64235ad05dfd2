import Foundation
import Protocol

/// Everything a running collector counts and measures, read at one moment as one value: what
/// `/metrics` renders, `GET /v1/collector` returns as JSON, and `heartbeat serve` prints in its
/// `status:` and `final:` lines and writes to `--snapshot-file`. Counters are totals since start.
///
/// The fields are read one after another from atomics the collector's threads update, so two
/// fields can be a few records apart while records flow; once the collector has stopped, the
/// ingest balance (``IngestStatistics/isBalanced``) holds exactly.
public struct CollectorSnapshot: Sendable, Encodable {
    /// When it was taken (Unix µs).
    public var takenAtMicros: Int64 = 0
    /// The UDP port the receivers share.
    public var udpPort: UInt16 = 0
    /// Records received, accepted, rejected by reason, and where every accepted row went.
    public var ingest = IngestStatistics()
    public var storage = Storage()
    public var registry = Registry()
    public var monitor = Monitor()
    public var hotState = HotState()
    public var notifications = Notifications() {
        didSet { webhooks = Webhooks(notifications) }
    }
    /// The totals under their version 1 name (`webhooks`), kept within snapshot version 1.
    public private(set) var webhooks = Webhooks(Notifications())
    /// Whether PostgreSQL answered the probe within the last 3 s.
    public var postgresUp = false
    /// Resident set size of the process, bytes.
    public var residentMemoryBytes = 0

    public init() {}

    /// The writers, the spool and the dead-letter file.
    public struct Storage: Sendable, Encodable {
        /// `postgres`, or `none` (rows discarded on purpose).
        public var sink = "postgres"
        /// Batches spooled because the writers' queue stayed full.
        public var batchesSpilled: UInt64 = 0
        /// Dead-lettered rows the dead-letter file could not take.
        public var deadLetterRowsUnwritten: UInt64 = 0
        /// Spool files found at start that did not add up, renamed `*.corrupt`.
        public var spoolFilesQuarantined = 0
        public var spoolBytes = 0
        public var spoolCapacityBytes = 0
        /// Anti-replay windows held, one per live (application, instance).
        public var replayWindows = 0
        /// Whether rows have waited past the stall limit with no commit (`/readyz` then says so).
        public var stalled = false
        /// Datagrams the kernel dropped on the UDP port before a receiver read them.
        public var udpKernelDrops: UInt64 = 0
        /// Rows the receivers' rings hold in all.
        public var ringCapacityRows = 0
        /// Batches waiting for a writer, and the writers' connections.
        public var writerQueueBatches = 0
        public var writerConnections = 0
        /// Accepted rows the monitor's feed had no room for.
        public var monitorEventsDropped: UInt64 = 0
        /// Time to COPY one batch; arrival to commit.
        public var flushSeconds = HistogramSnapshot(bounds: [1], bucketCounts: [0, 0], sum: 0)
        public var receiveToCommitSeconds = HistogramSnapshot(bounds: [1], bucketCounts: [0, 0], sum: 0)
    }

    /// The application registry and the work around it.
    public struct Registry: Sendable, Encodable {
        public var version: Int64 = 0
        public var applications = 0
        public var reloadFailures: UInt64 = 0
        public var applicationsAutoRegistered: UInt64 = 0
        public var autoRegistrationsSkipped: UInt64 = 0
        public var partitionMaintenanceFailures: UInt64 = 0
        public var lastHeartbeatRowsWritten: UInt64 = 0
        public var lastHeartbeatWriteFailures: UInt64 = 0
    }

    /// The liveness monitor.
    public struct Monitor: Sendable, Encodable {
        /// `off` (`--no-monitor`), `alone` (no Redis), `leader`, `follower`, or
        /// `degraded` (Redis unreachable).
        public var role = "off"
        /// What the published liveness view holds: `monitor` (a board), or `last_seen_only`.
        public var view = "monitor"
        /// When the monitor last published its view (Unix µs; 0 before its first tick).
        public var viewTakenAtMicros: Int64 = 0
        /// Enabled applications by stored status, as the probe last counted them.
        public var applicationsByStatus: [String: Int] = [:]
        public var transitionsRecorded: UInt64 = 0
        public var stalls: UInt64 = 0
        public var lossHolds: UInt64 = 0
        public var failures: UInt64 = 0
        public var checkSeconds = HistogramSnapshot(bounds: [1], bucketCounts: [0, 0], sum: 0)
        public var checkCPUSeconds = HistogramSnapshot(bounds: [1], bucketCounts: [0, 0], sum: 0)
        public var detectionDelaySeconds = HistogramSnapshot(bounds: [1], bucketCounts: [0, 0], sum: 0)
        /// Incidents this collector opened, by cause, and closed; applications its closings named.
        public var incidentsOpened: [String: UInt64] = [:]
        public var incidentsClosed: UInt64 = 0
        public var incidentApplicationsReleased: UInt64 = 0
        /// The incident open as this collector's monitor sees it, or nil.
        public var openIncident: OpenIncident?

        /// An incident in progress (`Spec/liveness.md`, "Incident hold").
        public struct OpenIncident: Sendable, Encodable, Equatable {
            /// Since when (Unix µs).
            public var since: Int64
            public var cause: String

            public init(since: Int64, cause: String) {
                self.since = since
                self.cause = cause
            }
        }
    }

    /// The Redis hot state (all zero and `configured: false` without `--redis-url`).
    public struct HotState: Sendable, Encodable {
        public var configured = false
        public var redisUp = false
        public var leader = false
        public var degraded = false
        public var leaderships: UInt64 = 0
        /// Time since the last completed sync round, seconds (0 before the first or unconfigured).
        public var syncLagSeconds: Double = 0
        public var syncFailures: UInt64 = 0
        public var membersPushed: UInt64 = 0
        public var membersPulled: UInt64 = 0
        public var remoteArrivals: UInt64 = 0
        public var valuesIgnored: UInt64 = 0
        /// Stream entries in a hot-state format this build cannot read (a mixed fleet mid-upgrade).
        public var entriesRefused: UInt64 = 0
        /// Instances of applications under a quorum shared, and sightings dropped (queue full).
        public var instancesShared: UInt64 = 0
        public var instancesDropped: UInt64 = 0
        public var transitionsPublished: UInt64 = 0
        public var publicationsDropped: UInt64 = 0
    }

    /// Notification delivery (`configured: false` without a database to hold the outbox).
    /// Version 1's `webhooks` object: the same totals as ``Notifications``, for readers written
    /// before channels (deprecated; `Spec/upgrading.md`).
    public struct Webhooks: Sendable, Encodable {
        public var configured: Bool
        public var delivered: UInt64
        public var failedAttempts: UInt64
        public var abandoned: UInt64
        public var queueDepth: Int

        init(_ notifications: Notifications) {
            configured = notifications.configured
            delivered = notifications.delivered
            failedAttempts = notifications.failedAttempts
            abandoned = notifications.abandoned
            queueDepth = notifications.queueDepth
        }
    }

    /// Job runs from HTTP pings (what the collector itself counts; the sidecar counts its writes).
    public var runs = Runs()
    /// Rollups: what the drain counted and the rollup writer wrote.
    public var rollups = Rollups()

    /// Rollup accounting: `records_counted + records_uncounted` equals the accepted records (with
    /// rollups on); counted records are written, held in memory, or lost at a stop.
    public struct Rollups: Sendable, Encodable {
        /// Whether rollups are kept (off with `--sink none`).
        public var enabled = false
        /// `--raw-events`.
        public var rawEvents = "all"
        public var recordsCounted: UInt64 = 0
        public var recordsUncounted: UInt64 = 0
        public var recordsWritten: UInt64 = 0
        public var recordsLost: UInt64 = 0
        public var rowsWritten: UInt64 = 0
        public var writeFailures: UInt64 = 0
        /// When the latest rollup COPY committed (Unix µs; 0 before any).
        public var lastWriteMicros: Int64 = 0
        /// Daily rollups this collector derived.
        public var daysDerived: UInt64 = 0
        /// Loss-aware delivery changes this collector recorded, and its checks that failed.
        public var deliveryDegradedRecorded: UInt64 = 0
        public var deliveryRecoveredRecorded: UInt64 = 0
        public var deliveryCheckFailures: UInt64 = 0
    }

    public struct Runs: Sendable, Encodable {
        /// Runs deleted for their age (`--run-retention-days`).
        public var expired: UInt64 = 0
        /// `/log` pings by outcome: `accepted` or a rejection reason's label.
        public var pingLogs: [String: UInt64] = [:]
    }

    public struct Notifications: Sendable, Encodable {
        public var configured = false
        public var delivered: UInt64 = 0
        public var failedAttempts: UInt64 = 0
        public var abandoned: UInt64 = 0
        public var skipped: UInt64 = 0
        public var queueDepth = 0
        /// Closed notifications deleted after the retention.
        public var expired: UInt64 = 0
        /// Reminders this collector queued.
        public var reminders: UInt64 = 0
        /// Held notifications this collector released or dropped when their silence ended.
        public var heldReleased: UInt64 = 0
        public var heldDropped: UInt64 = 0
        /// Failed round trips to PostgreSQL of the delivery worker and its lanes (each retried).
        public var databaseFailures: UInt64 = 0
        /// Silences in force now.
        public var silencesActive = 0
        public var selfPingsSent: UInt64 = 0
        public var selfPingsFailed: UInt64 = 0
        /// Per channel, by id: this collector's outcomes.
        public var channels = [Channel]()

        /// One channel's outcomes in this collector.
        public struct Channel: Sendable, Encodable {
            public var id: Int
            public var name: String
            public var kind: String
            public var delivered: UInt64
            public var failed: UInt64
            public var abandoned: UInt64
        }
    }
}

extension CollectorSnapshot {
    /// The JSON form (`GET /v1/collector`, `--snapshot-file`): snake_case names, keys sorted.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        // Every field is a number, a string, a flag or a collection of them: encoding cannot fail.
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    /// `/readyz`'s verdict: what is down (empty when ready) — PostgreSQL, storage stalled, and
    /// Redis when it is configured.
    public var notReady: [String] {
        (postgresUp ? [] : ["postgres"]) + (storage.stalled ? ["storage"] : []) + (hotState.configured && !hotState.redisUp ? ["redis"] : [])
    }

    /// `monitor: transitions=… stalls=… failures=… check_p50_ms=… check_p99_ms=… detection_p50_ms=… detection_p99_ms=…`.
    public var monitorLine: String {
        "monitor: transitions=\(monitor.transitionsRecorded) stalls=\(monitor.stalls) failures=\(monitor.failures) check_p50_ms=\(Self.millis(monitor.checkSeconds.quantile(0.5), digits: 2)) check_p99_ms=\(Self.millis(monitor.checkSeconds.quantile(0.99), digits: 2)) detection_p50_ms=\(Self.millis(monitor.detectionDelaySeconds.quantile(0.5), digits: 2)) detection_p99_ms=\(Self.millis(monitor.detectionDelaySeconds.quantile(0.99), digits: 2))"
    }

    /// `hot_state: redis=up|down leader=yes|no leaderships=… degraded=yes|no sync_lag_ms=… …`.
    public var hotStateLine: String {
        let lag = hotState.syncLagSeconds > 0 ? String(Int64(hotState.syncLagSeconds * 1_000)) : "-"
        func yes(_ flag: Bool) -> String { flag ? "yes" : "no" }
        return "hot_state: redis=\(hotState.redisUp ? "up" : "down") leader=\(yes(hotState.leader)) leaderships=\(hotState.leaderships) degraded=\(yes(hotState.degraded)) sync_lag_ms=\(lag) sync_failures=\(hotState.syncFailures) pushed=\(hotState.membersPushed) pulled=\(hotState.membersPulled) remote_arrivals=\(hotState.remoteArrivals) published=\(hotState.transitionsPublished) publish_dropped=\(hotState.publicationsDropped)"
    }

    /// `notifications: delivered=… failed_attempts=… abandoned=… queue=…`.
    public var notificationLine: String {
        "notifications: delivered=\(notifications.delivered) failed_attempts=\(notifications.failedAttempts) abandoned=\(notifications.abandoned) queue=\(notifications.queueDepth)"
    }

    /// `latency: commit_p50_ms=… commit_p99_ms=… flush_p50_ms=… flush_p99_ms=… batches=…`.
    public var latencyLine: String {
        let commit = storage.receiveToCommitSeconds
        let flush = storage.flushSeconds
        return "latency: commit_p50_ms=\(Self.millis(commit.quantile(0.5), digits: 1)) commit_p99_ms=\(Self.millis(commit.quantile(0.99), digits: 1)) flush_p50_ms=\(Self.millis(flush.quantile(0.5), digits: 1)) flush_p99_ms=\(Self.millis(flush.quantile(0.99), digits: 1)) batches=\(flush.count)"
    }

    /// The lines `heartbeat serve` prints for this snapshot: totals, latency, and hot state and
    /// notifications when configured.
    public var reportLines: [String] {
        [monitorLine, latencyLine] + (hotState.configured ? [hotStateLine] : []) + (notifications.configured ? [notificationLine] : [])
    }

    private static func millis(_ seconds: Double?, digits: Int) -> String {
        seconds.map { String(format: "%.\(digits)f", $0 * 1_000) } ?? "-"
    }
}
