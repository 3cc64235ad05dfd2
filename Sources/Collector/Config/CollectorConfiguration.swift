import Foundation
import Protocol

/// Everything `heartbeat serve` can be told, validated up front: a bad value is an error at start
/// that names the setting, the value and what is accepted — never a crash later.
public struct CollectorConfiguration: Sendable {
    /// UDP address the receivers share (`--udp`, default 127.0.0.1:7411).
    public var udp = try! ListenAddress(parsing: "127.0.0.1:7411")
    /// HTTP address of the sidecar (`--http`, default 127.0.0.1:7412).
    public var http = try! ListenAddress(parsing: "127.0.0.1:7412")
    /// libpq connection URL (`--database-url`, `HEARTBEAT_DATABASE_URL`).
    public var databaseURL = ""
    /// libpq URL of a streaming replica of it for history reads (`--database-read-url`,
    /// `HEARTBEAT_DATABASE_READ_URL`); nil: history is read from the primary.
    public var databaseReadURL: String?
    /// Redis URL (`--redis-url`, `HEARTBEAT_REDIS_URL`); optional.
    public var redisURL: String?
    /// What every Redis key and channel starts with (`<prefix>:last_seen`, `<prefix>:transitions`, …),
    /// so that several deployments can share one Redis.
    public var redisKeyPrefix = "heartbeat"
    /// How often the Redis hot state is synchronised (last-seen pushed and pulled), ms.
    public var redisSyncMillis = 200
    /// The hot-state format version this collector writes (`--hot-state-version`): 1 while a fleet
    /// still runs builds that read only version 1, else 2 (`Spec/upgrading.md`).
    public var hotStateVersion = 2
    /// This collector's name in Redis (lease holder, stream origin); default host:pid:random.
    public var collectorID = CollectorConfiguration.defaultCollectorID()
    /// Webhook URLs every transition is POSTed to (`--webhook-url`, repeatable): at start each
    /// becomes (or updates) a `webhook` channel named `webhook <url>`.
    public var webhookURLs = [String]()
    /// The key those webhook channels sign with (`--webhook-secret`); required with webhook URLs.
    public var webhookSecret: String?
    /// The collector's address as people reach it (`--public-url`), for `{{url}}` in notifications.
    public var publicURL: String?
    /// An external heartbeat URL GETted every 30 s (`--self-ping-url`), so another monitor watches this one.
    public var selfPingURL: String?
    /// The bearer token of the management API (`--admin-token`); nil disables management.
    public var adminToken: String?
    /// The bearer token the `/v1` read routes, `/metrics` and the status page need (`--read-token`);
    /// nil leaves them open (the loopback default). The admin token reads too.
    /// The key a ping with `?create=1` must carry to create an application (`--provision-key-file`);
    /// nil: provisioning by ping is off.
    public var provisionKey: String?
    public var readToken: String?
    /// How long a rotated-out secret stays valid, seconds (`--secret-grace-s`).
    public var previousSecretSeconds = 3_600
    /// Receiver threads, each with its own SO_REUSEPORT socket and ring.
    public var receivers = 2
    /// Rows each receiver's ring holds.
    public var ringCapacity = 262_144
    /// Requested SO_RCVBUF per receiver socket, bytes.
    public var receiveBufferBytes = 16 << 20
    /// A COPY batch closes at this many rows …
    public var batchRows = 50_000
    /// … or when its first row is this old, whichever comes first.
    public var batchAgeMillis = 100
    /// libpq connections writing batches.
    public var writerConnections = 2
    /// Where batches go while PostgreSQL cannot take them.
    public var spoolDirectory = ".data/spool"
    /// The spool's size cap, bytes; past it, batches are dropped and counted (`spool_full`).
    public var spoolCapacityBytes = 1 << 30
    /// HTTP connections the sidecar serves at once (`--http-max-connections`); past it the oldest
    /// idle one is closed for a newcomer, and a few reserve slots answer health checks only.
    public var httpMaxConnections = 256
    /// Event-loop threads of the HTTP sidecar (`--http-threads`): they read and write the sockets and
    /// run the handlers (database work has its own pool). One per core: status reads are bound by
    /// CPU, and a single thread measured slower (Spec/tuning.md).
    public var httpThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Whether the sidecar serves `/metrics/apps`, a few series per application (`--app-metrics`):
    /// off by default, since a million applications make millions of series.
    public var applicationMetrics = false
    /// Rows waiting this long with no commit make storage "stalled" in `/readyz`, ms (not a flag:
    /// tests shorten it).
    public var storageStallLimitMillis = 30_000
    /// Days of `heartbeat_event` partitions kept.
    public var retentionDays = 7
    /// Days of partitions created ahead.
    public var partitionDaysAhead = 2
    /// Which accepted records are also stored as raw `heartbeat_event` rows (`--raw-events`).
    public var rawEvents = RawEvents.all
    /// Days of rollups kept (`--rollup-retention-days`), minute and daily rows alike.
    public var rollupRetentionDays = 400
    /// How often each collector writes its rollups, seconds (`--rollup-flush-s`): each minute by
    /// default; shorter writes more rows (a minute split in several), for tests and demos.
    public var rollupFlushSeconds = 60
    /// Loss-aware delivery: the loss over the last 5 minutes past which an application's delivery
    /// is degraded, percent (`--delivery-loss-threshold`; 0 turns the check off) …
    public var deliveryLossThresholdPercent = 20
    /// … counted only with at least this many records expected (`--delivery-min-expected`).
    public var deliveryMinimumExpected = 20
    /// The incident hold (`Spec/liveness.md`): its maximum, seconds (`--incident-hold-s`; 0 turns
    /// it off), and the share and number of up applications going late within 30 s that open one.
    public var incidentHoldSeconds = 300
    public var incidentLatePercent = 20
    public var incidentLateMinimum = 50
    /// `--remind-every`: while an application is down, notify again at this period, seconds (0: off;
    /// an application's `remind_every_ms` overrides it).
    public var remindEverySeconds = 0
    /// Job runs (`job_run`, from HTTP pings) kept per application, newest first.
    public var runHistory = 100
    /// Days job runs are kept.
    public var runRetentionDays = 30
    /// Allowed distance between a signed record's `sent_at` and the collector's clock, seconds.
    public var allowedSkewSeconds = 120
    /// How often the registry version is polled, milliseconds.
    public var registryPollMillis = 250
    /// Anti-replay windows of instances idle this long are forgotten, seconds.
    public var replayIdleSeconds = 900
    /// Records a second one application may send sustained (`--app-rate-limit`); 0 for no limit.
    /// Past its budget an application's records are refused as `rate_limited`, so a flood of one
    /// cannot take the storage capacity of the others.
    public var appRateLimit = 1_000
    /// Instances of one application the anti-replay check tracks at once (`--app-max-instances`);
    /// records of further new instances are refused as `instance_limit` until old ones idle out.
    public var appMaxInstances = 1_024
    /// Instances of all applications tracked at once (`--max-instances`).
    public var maxInstances = 1 << 20
    /// Records one application may send at once above its sustained rate (`--app-burst`).
    public var appBurst = 10_000
    /// Whether applications the registry does not know are registered (unsigned) automatically.
    public var autoRegister = false
    /// At most this many applications are auto-registered a minute.
    public var autoRegisterPerMinute = 600
    /// At most this many auto-registered applications that no operator has named yet (`--auto-register-max`).
    public var autoRegisterMaximum = 10_000
    /// Whether this collector runs the liveness monitor.
    public var monitor = true
    /// How often the monitor checks every application's deadline, ms.
    public var monitorPeriodMillis = 1_000
    /// Where accepted rows go: PostgreSQL, or nowhere (`none`, to measure the receive path alone).
    public var sink = Sink.postgres
    /// Whether other processes may share the UDP port (several collectors on one host behind
    /// SO_REUSEPORT). Off by default, so a stale collector cannot silently take part of the traffic.
    public var shareUDPPort = false

    /// Where accepted rows go.
    public enum Sink: String, Sendable, CaseIterable {
        case postgres
        case none
    }

    public init() {}

    /// A setting with a value outside what is accepted.
    public struct InvalidSetting: Error, CustomStringConvertible {
        public let setting: String
        public let value: String
        public let accepted: String
        public var description: String { "\(setting): \(value) is not accepted; expected \(accepted)" }
    }

    /// Checks every setting; throws the first one out of range.
    public func validate() throws(InvalidSetting) {
        func check(_ ok: Bool, _ setting: String, _ value: Any, _ accepted: String) throws(InvalidSetting) {
            if !ok { throw InvalidSetting(setting: setting, value: "\(value)", accepted: accepted) }
        }
        try check(!databaseURL.isEmpty, "--database-url / HEARTBEAT_DATABASE_URL", "(empty)", "a libpq URL such as postgresql://user@127.0.0.1:5432/heartbeat")
        try check(databaseReadURL.map { !$0.isEmpty && $0 != databaseURL } ?? true, "--database-read-url / HEARTBEAT_DATABASE_READ_URL", databaseReadURL == databaseURL ? "(the primary's URL)" : "(empty)", "a streaming replica's libpq URL, not the primary's")
        try check((1...64).contains(receivers), "--receivers", receivers, "1 to 64")
        try check((1_024...(1 << 24)).contains(ringCapacity), "--ring-size", ringCapacity, "1024 to 16777216 rows")
        try check((64 << 10...(1 << 30)).contains(receiveBufferBytes), "--receive-buffer", receiveBufferBytes, "65536 to 1073741824 bytes")
        try check((1...1_000_000).contains(batchRows), "--batch-rows", batchRows, "1 to 1000000")
        try check((1...60_000).contains(batchAgeMillis), "--batch-age-ms", batchAgeMillis, "1 to 60000 ms")
        try check((1...32).contains(writerConnections), "--writers", writerConnections, "1 to 32 connections")
        try check(!spoolDirectory.isEmpty, "--spool-dir", "(empty)", "a directory path")
        try check(spoolCapacityBytes >= 1 << 20, "--spool-max-bytes", spoolCapacityBytes, "at least 1048576 bytes")
        try check((1...3_650).contains(retentionDays), "--retention-days", retentionDays, "1 to 3650 days")
        try check((1...30).contains(partitionDaysAhead), "--partition-days-ahead", partitionDaysAhead, "1 to 30 days")
        try check((1...3_650).contains(rollupRetentionDays), "--rollup-retention-days", rollupRetentionDays, "1 to 3650 days")
        try check((1...60).contains(rollupFlushSeconds), "--rollup-flush-s", rollupFlushSeconds, "1 to 60 s")
        try check((0...99).contains(deliveryLossThresholdPercent), "--delivery-loss-threshold", deliveryLossThresholdPercent, "0 (off) to 99 percent")
        try check((0...86_400).contains(incidentHoldSeconds), "--incident-hold-s", incidentHoldSeconds, "0 (off) to 86400 seconds")
        try check((1...100).contains(incidentLatePercent), "--incident-late-percent", incidentLatePercent, "1 to 100 percent")
        try check((1...1_000_000).contains(incidentLateMinimum), "--incident-late-min", incidentLateMinimum, "1 to 1000000 applications")
        try check((0...2_147_483).contains(remindEverySeconds), "--remind-every", remindEverySeconds, "0 (off) to 2147483 seconds")
        try check((1...1_000_000).contains(deliveryMinimumExpected), "--delivery-min-expected", deliveryMinimumExpected, "1 to 1000000 records")
        try check((1...10_000).contains(runHistory), "--run-history", runHistory, "1 to 10000 runs")
        try check((1...3_650).contains(runRetentionDays), "--run-retention-days", runRetentionDays, "1 to 3650 days")
        try check((0...86_400).contains(allowedSkewSeconds), "--max-skew-s", allowedSkewSeconds, "0 to 86400 s")
        try check((50...60_000).contains(registryPollMillis), "--registry-poll-ms", registryPollMillis, "50 to 60000 ms")
        try check((1...1_000_000).contains(autoRegisterPerMinute), "--auto-register-per-minute", autoRegisterPerMinute, "1 to 1000000")
        try check((1...10_000_000).contains(autoRegisterMaximum), "--auto-register-max", autoRegisterMaximum, "1 to 10000000")
        try check((100...60_000).contains(monitorPeriodMillis), "--check-period-ms", monitorPeriodMillis, "100 to 60000 ms")
        if let redisURL { try check(RedisURL(redisURL) != nil, "--redis-url / HEARTBEAT_REDIS_URL", RedisURL.redacted(redisURL), "redis://[[USER]:PASSWORD@]HOST:PORT[/DB]") }
        try check(!redisKeyPrefix.isEmpty && redisKeyPrefix.count <= 100 && !redisKeyPrefix.contains(where: \.isWhitespace),
                  "--redis-prefix / HEARTBEAT_REDIS_PREFIX", redisKeyPrefix, "1 to 100 characters without spaces")
        try check((50...10_000).contains(redisSyncMillis), "--redis-sync-ms", redisSyncMillis, "50 to 10000 ms")
        try check((1...2).contains(hotStateVersion), "--hot-state-version", hotStateVersion, "1 or 2")
        try check(!collectorID.isEmpty && collectorID.count <= 200, "--collector-id", collectorID, "1 to 200 characters")
        for (flag, value) in [("--public-url / HEARTBEAT_PUBLIC_URL", publicURL), ("--self-ping-url / HEARTBEAT_SELF_PING_URL", selfPingURL)] {
            guard let value else { continue }
            try check(value.hasPrefix("http://") || value.hasPrefix("https://"), flag, value, "an http:// or https:// URL")
        }
        for url in webhookURLs {
            try check(url.hasPrefix("http://") || url.hasPrefix("https://"), "--webhook-url / HEARTBEAT_WEBHOOK_URLS", url, "an http:// or https:// URL")
        }
        try check(webhookURLs.isEmpty || (webhookSecret?.utf8.count ?? 0) >= 16, "--webhook-secret / HEARTBEAT_WEBHOOK_SECRET",
                  webhookSecret == nil ? "(unset)" : "(\(webhookSecret!.utf8.count) bytes)", "at least 16 bytes when webhook URLs are set")
        if let provisionKey {
            try check(provisionKey.utf8.count >= 16, "--provision-key-file / HEARTBEAT_PROVISION_KEY_FILE", "(\(provisionKey.utf8.count) bytes)", "at least 16 bytes")
        }
        if let adminToken { try check(adminToken.utf8.count >= 16, "--admin-token / HEARTBEAT_ADMIN_TOKEN", "(\(adminToken.utf8.count) bytes)", "at least 16 bytes") }
        if let readToken {
            try check(readToken.utf8.count >= 16, "--read-token / HEARTBEAT_READ_TOKEN", "(\(readToken.utf8.count) bytes)", "at least 16 bytes")
            try check(readToken.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: ",") },
                      "--read-token / HEARTBEAT_READ_TOKEN", "(a token with spaces, controls, ';' or ',')", "printable ASCII without spaces, ';' or ','")
        }
        try check((0...86_400 * 30).contains(previousSecretSeconds), "--secret-grace-s", previousSecretSeconds, "0 to 2592000 s")
        try check((0...10_000_000).contains(appRateLimit), "--app-rate-limit", appRateLimit, "0 (no limit) to 10000000 records/s")
        try check((1...100_000_000).contains(appBurst), "--app-burst", appBurst, "1 to 100000000 records")
        try check((1...65_536).contains(httpMaxConnections), "--http-max-connections", httpMaxConnections, "1 to 65536 connections")
        try check((1...64).contains(httpThreads), "--http-threads", httpThreads, "1 to 64 threads")
        try check((1...1_048_576).contains(appMaxInstances), "--app-max-instances", appMaxInstances, "1 to 1048576 instances")
        try check((1...16_777_216).contains(maxInstances), "--max-instances", maxInstances, "1 to 16777216 instances")
        try check((60...86_400 * 7).contains(replayIdleSeconds), "--replay-idle-s", replayIdleSeconds, "60 to 604800 s")
    }

    /// `host:pid:random`: unique per process, readable in Redis (`GET heartbeat:monitor_leader`).
    public static func defaultCollectorID() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}

extension CollectorConfiguration {
    /// The incident hold's thresholds under this configuration (nil: off).
    var incidentSettings: IncidentDetector.Settings? {
        guard incidentHoldSeconds > 0 else { return nil }
        var settings = IncidentDetector.Settings()
        settings.maximumHoldMicros = Int64(incidentHoldSeconds) * 1_000_000
        settings.lateFraction = Double(incidentLatePercent) / 100
        settings.lateMinimum = incidentLateMinimum
        return settings
    }

    /// How notification delivery runs under this configuration.
    var notificationSettings: NotificationDeliverer.Settings {
        var settings = NotificationDeliverer.Settings()
        settings.publicURL = publicURL ?? ""
        settings.selfPingURL = selfPingURL
        settings.remindEveryMillis = remindEverySeconds * 1_000
        return settings
    }
}
