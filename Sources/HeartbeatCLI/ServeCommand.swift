import ArgumentParser
import Collector
import Dispatch
import Foundation
import Sidecar

#if canImport(Glibc)
import Glibc
#endif

/// `heartbeat serve`: runs the collector until SIGTERM or SIGINT.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the collector: receive heartbeats over UDP and store them in PostgreSQL.",
        discussion: """
            Every option can also be set with the environment variable shown; the command line \
            wins. Applies pending migrations at start. On SIGTERM or SIGINT it stops reading, \
            stores (or spools) every accepted record, prints its totals and exits 0; a second \
            signal exits at once with status 1.
            """
    )

    @Option(help: "UDP address to receive on, IPv4:PORT or [IPv6]:PORT. Env: HEARTBEAT_UDP. Default: 127.0.0.1:7411.")
    var udp: String?
    @Option(help: "HTTP address of the status sidecar (/healthz, /readyz, /metrics); port 0 picks a free one. Env: HEARTBEAT_HTTP. Default: 127.0.0.1:7412.")
    var http: String?
    @Option(help: "HTTP connections the sidecar serves at once; past it the oldest idle one is closed, and 8 reserve slots answer /healthz and /readyz only (1-65536). Env: HEARTBEAT_HTTP_MAX_CONNECTIONS. Default: 256.")
    var httpMaxConnections: Int?
    @Option(help: "Event-loop threads of the HTTP sidecar (1-64). Env: HEARTBEAT_HTTP_THREADS. Default: one per core.")
    var httpThreads: Int?
    @Option(help: "libpq connection URL. Env: HEARTBEAT_DATABASE_URL. Required.")
    var databaseURL: String?
    @Option(help: "libpq URL of a streaming replica of that database: history reads (events, transitions, runs, uptime, loss) go there, and to the primary while it is unreachable or more than a second behind. Env: HEARTBEAT_DATABASE_READ_URL. Optional.")
    var databaseReadURL: String?
    @Option(help: "Redis URL, redis://[[USER]:PASSWORD@]HOST:PORT[/DB] (AUTH when a password is given). Env: HEARTBEAT_REDIS_URL. Optional.")
    var redisURL: String?
    @Option(help: "What every Redis key and channel starts with (PREFIX:last_seen, PREFIX:transitions, …). Env: HEARTBEAT_REDIS_PREFIX. Default: heartbeat.")
    var redisPrefix: String?
    @Option(help: "How often last-seen times are merged into and read from Redis, ms (50-10000). Env: HEARTBEAT_REDIS_SYNC_MS. Default: 200.")
    var redisSyncMs: Int?
    @Option(help: "The Redis hot-state format this collector writes: 1 while other collectors still run a build that reads only version 1, else 2 (Spec/upgrading.md). Env: HEARTBEAT_HOT_STATE_VERSION. Default: 2.")
    var hotStateVersion: Int?
    @Option(help: "This collector's name in Redis (monitor lease holder). Env: HEARTBEAT_COLLECTOR_ID. Default: HOST:PID:RANDOM.")
    var collectorID: String?
    @Option(help: "Make this URL a webhook channel that takes every transition (created or updated at start as channel \"webhook URL\"; repeat for several; more kinds: heartbeat channel add). Env: HEARTBEAT_WEBHOOK_URLS (comma-separated).")
    var webhookURL: [String] = []
    @Option(help: "Key for the X-Heartbeat-Signature HMAC of webhook requests (16 bytes or more; required with webhooks). Visible to other local users in /proc: prefer --webhook-secret-file. Env: HEARTBEAT_WEBHOOK_SECRET.")
    var webhookSecret: String?
    @Option(help: "Read the webhook secret from this file (trailing newline ignored). Env: HEARTBEAT_WEBHOOK_SECRET_FILE.")
    var webhookSecretFile: String?
    @Option(help: "This collector's address as people reach it (http:// or https://), for {{url}} in notifications (<url>/apps/<uuid>). Env: HEARTBEAT_PUBLIC_URL.")
    var publicURL: String?
    @Option(help: "GET this URL every 30 s (another monitor's heartbeat URL), so a dead collector is noticed. Env: HEARTBEAT_SELF_PING_URL.")
    var selfPingURL: String?
    @Option(help: "Bearer token for the management API (POST/PATCH/DELETE /v1/apps…), 16 bytes or more; without it management is off. Visible in /proc: prefer --admin-token-file. Env: HEARTBEAT_ADMIN_TOKEN.")
    var adminToken: String?
    @Option(help: "Read the admin token from this file (trailing newline ignored). Env: HEARTBEAT_ADMIN_TOKEN_FILE.")
    var adminTokenFile: String?
    @Option(help: "Bearer token the read routes (/v1 reads, /metrics, the status page) need, 16 bytes or more; without it they are open. Visible in /proc: prefer --read-token-file. Env: HEARTBEAT_READ_TOKEN.")
    var readToken: String?
    @Option(help: "Read the read token from this file (trailing newline ignored). Env: HEARTBEAT_READ_TOKEN_FILE.")
    var readTokenFile: String?
    @Option(help: "Read the provisioning key from this file (16 bytes or more): a ping with ?create=1 carrying it creates its unknown application (Spec/http-ping.md). Off without it. Env: HEARTBEAT_PROVISION_KEY_FILE.")
    var provisionKeyFile: String?
    @Option(help: "How long a rotated-out application secret stays valid, seconds (0-2592000). Env: HEARTBEAT_SECRET_GRACE_S. Default: 3600.")
    var secretGraceS: Int?
    @Option(help: "Receiver threads, each with its own SO_REUSEPORT socket (1-64). Env: HEARTBEAT_RECEIVERS. Default: the number of cores.")
    var receivers: Int?
    @Option(help: "Rows each receiver's ring holds (1024-16777216). Env: HEARTBEAT_RING_SIZE. Default: 262144.")
    var ringSize: Int?
    @Option(help: "Requested SO_RCVBUF per socket, bytes. Env: HEARTBEAT_RECEIVE_BUFFER. Default: 16777216.")
    var receiveBuffer: Int?
    @Option(help: "A COPY batch closes at this many rows (1-1000000). Env: HEARTBEAT_BATCH_ROWS. Default: 50000.")
    var batchRows: Int?
    @Option(help: "… or when its first row is this old, ms (1-60000). Env: HEARTBEAT_BATCH_AGE_MS. Default: 100.")
    var batchAgeMs: Int?
    @Option(help: "PostgreSQL connections writing batches (1-32). Env: HEARTBEAT_WRITERS. Default: 2.")
    var writers: Int?
    @Option(help: "Spool directory for batches PostgreSQL cannot take. Env: HEARTBEAT_SPOOL_DIR. Default: .data/spool.")
    var spoolDir: String?
    @Option(help: "Spool size cap, bytes; past it batches are dropped and counted as spool_full. Env: HEARTBEAT_SPOOL_MAX_BYTES. Default: 1073741824.")
    var spoolMaxBytes: Int?
    @Option(help: "Days of heartbeat_event partitions kept (1-3650). Env: HEARTBEAT_RETENTION_DAYS. Default: 7.")
    var retentionDays: Int?
    @Option(help: "Job runs (from HTTP pings, with their output) kept per application, newest first (1-10000). Env: HEARTBEAT_RUN_HISTORY. Default: 100.")
    var runHistory: Int?
    @Option(help: "Days job runs are kept (1-3650). Env: HEARTBEAT_RUN_RETENTION_DAYS. Default: 30.")
    var runRetentionDays: Int?
    @Option(help: "Allowed clock skew of signed records, seconds (0-86400). Env: HEARTBEAT_MAX_SKEW_S. Default: 120.")
    var maxSkewS: Int?
    @Option(help: "Records a second one application may send; past it they are refused as rate_limited (0: no limit). Env: HEARTBEAT_APP_RATE_LIMIT. Default: 1000.")
    var appRateLimit: Int?
    @Option(help: "Records one application may send at once above that rate (1-100000000). Env: HEARTBEAT_APP_BURST. Default: 10000.")
    var appBurst: Int?
    @Option(help: "Instances of one application tracked for anti-replay at once; records of further new instances are refused as instance_limit (1-1048576). Env: HEARTBEAT_APP_MAX_INSTANCES. Default: 1024.")
    var appMaxInstances: Int?
    @Option(help: "Instances of all applications tracked at once (1-16777216; ~64 bytes each). Env: HEARTBEAT_MAX_INSTANCES. Default: 1048576.")
    var maxInstances: Int?
    @Option(help: "Which accepted records are also stored as raw heartbeat_event rows: all; runs (start/success/fail/stop, and the first beat after a gap); none (history is rollups, transitions and runs). Liveness, rollups and counters see every record in every mode. Env: HEARTBEAT_RAW_EVENTS. Default: all.")
    var rawEvents: String?
    @Option(help: "Days of rollups kept, minute and daily rows (1-3650). Env: HEARTBEAT_ROLLUP_RETENTION_DAYS. Default: 400.")
    var rollupRetentionDays: Int?
    @Option(help: "How often rollups are written, seconds (1-60; shorter splits a minute over several rows). Env: HEARTBEAT_ROLLUP_FLUSH_S. Default: 60.")
    var rollupFlushS: Int?
    @Option(help: "Loss-aware delivery: an application whose merged loss over the last 5 minutes passes this percentage records a delivery_degraded event, and delivery_recovered once it is back under half of it (0: off). Env: HEARTBEAT_DELIVERY_LOSS_THRESHOLD. Default: 20.")
    var deliveryLossThreshold: Int?
    @Option(help: "Records that must have been expected over those 5 minutes for the loss to count (1-1000000). Env: HEARTBEAT_DELIVERY_MIN_EXPECTED. Default: 20.")
    var deliveryMinExpected: Int?
    @Option(help: "Incident hold: the longest the monitor holds individual notifications when it decides the problem is the network's or its own (many applications late at once, traffic lost or fallen), seconds (0: off). Env: HEARTBEAT_INCIDENT_HOLD_S. Default: 300.")
    var incidentHoldS: Int?
    @Option(help: "Incident hold: the share of up applications going late within 30 s that opens an incident, percent. Env: HEARTBEAT_INCIDENT_LATE_PERCENT. Default: 20.")
    var incidentLatePercent: Int?
    @Option(help: "Incident hold: … and more than this many applications. Env: HEARTBEAT_INCIDENT_LATE_MIN. Default: 50.")
    var incidentLateMin: Int?
    @Option(help: "While an application is down, notify its channels again every this many seconds (0: off); an application's remind_every_ms overrides it. Env: HEARTBEAT_REMIND_EVERY. Default: 0.")
    var remindEvery: Int?
    @Option(help: "Where accepted rows go: postgres, or none (rows discarded, to measure the receive path; the monitor still runs unless --no-monitor). Env: HEARTBEAT_SINK. Default: postgres.")
    var sink: String?
    @Option(help: "How often the liveness monitor checks every application's deadline, ms (100-60000). Env: HEARTBEAT_CHECK_PERIOD_MS. Default: 1000.")
    var checkPeriodMs: Int?
    @Flag(help: "Serve /metrics/apps: heartbeat_app_up, heartbeat_app_status and heartbeat_app_last_seen_timestamp_seconds per application (a few series each). Env: HEARTBEAT_APP_METRICS=1.")
    var appMetrics = false
    @Flag(help: "Do not run the liveness monitor in this collector (another one does). Env: HEARTBEAT_NO_MONITOR=1.")
    var noMonitor = false
    @Flag(help: "Register unknown applications automatically (unsigned, named auto-registered). Env: HEARTBEAT_AUTO_REGISTER=1.")
    var autoRegister = false
    @Option(help: "At most this many applications auto-registered a minute (1-1000000). Env: HEARTBEAT_AUTO_REGISTER_PER_MINUTE. Default: 600.")
    var autoRegisterPerMinute: Int?
    @Option(help: "At most this many auto-registered applications not yet named by an operator (1-10000000). Env: HEARTBEAT_AUTO_REGISTER_MAX. Default: 10000.")
    var autoRegisterMax: Int?
    @Flag(help: "Allow other processes to share the UDP port (several collectors on one host). Env: HEARTBEAT_SHARE_UDP_PORT=1.")
    var shareUDPPort = false
    @Option(help: "Seconds between status lines on standard error; 0 for none. Env: HEARTBEAT_STATUS_INTERVAL_S. Default: 10.")
    var statusIntervalS: Int?
    @Option(help: "Keep the collector's state as JSON in this file (GET /v1/collector's body with the ports; rewritten at start, with each status line and after shutdown with the final totals). Env: HEARTBEAT_SNAPSHOT_FILE.")
    var snapshotFile: String?

    func run() throws {
        let configuration = try exitingOnUsageError { try makeConfiguration() }
        let statusInterval = try exitingOnUsageError { try integer(statusIntervalS, "HEARTBEAT_STATUS_INTERVAL_S", "--status-interval-s") } ?? 10
        let collector: HeartbeatCollector
        do throws(HeartbeatCollector.StartError) {
            collector = try HeartbeatCollector(configuration: configuration)
        } catch {
            report("error: \(error)")
            throw ExitCode(1)
        }
        if collector.grantedReceiveBufferBytes < configuration.receiveBufferBytes {
            report("warning: the kernel granted a \(collector.grantedReceiveBufferBytes)-byte receive buffer instead of \(configuration.receiveBufferBytes); raise net.core.rmem_max (sysctl -w net.core.rmem_max=\(configuration.receiveBufferBytes)) to absorb bursts")
        }
        let stop = DispatchSemaphore(value: 0)
        let handled: [Int32] = [SIGTERM, SIGINT]
        let signals = handled.map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            var seen = false
            source.setEventHandler {
                if seen {
                    report("second signal: exiting without draining")
                    Glibc.exit(1)
                }
                seen = true
                stop.signal()
            }
            source.resume()
            return source
        }
        let sidecar = SidecarServer(
            collector: collector, host: configuration.http.host, port: Int(configuration.http.port), adminToken: configuration.adminToken,
            readToken: configuration.readToken, previousSecretSeconds: configuration.previousSecretSeconds,
            limits: SidecarServer.Limits(maximumConnections: configuration.httpMaxConnections), applicationMetrics: configuration.applicationMetrics,
            threads: configuration.httpThreads,
            provisioning: configuration.provisionKey.map {
                PingProvisioningSettings(key: $0, perMinute: configuration.autoRegisterPerMinute, maximum: configuration.autoRegisterMaximum)
            })
        do throws(ServiceList.StartError) {
            try collector.start(adding: [sidecar])  // the sidecar starts last and stops first
        } catch {
            report("error: \(error.underlying)")
            throw ExitCode(1)
        }
        let httpPort = sidecar.port
        // Status reads answer 503 until the monitor's first view (it loads the registry first:
        // seconds at a million applications), so whoever waits for the start line can read status.
        let announceBy = Date().addingTimeInterval(60)
        while configuration.monitor, collector.liveness.view.sequence == 0, Date() < announceBy { usleep(10_000) }
        let snapshotPath = snapshotFile ?? Environment.value("HEARTBEAT_SNAPSHOT_FILE")
        func writeSnapshot(_ state: String, _ snapshot: CollectorSnapshot) {
            guard let snapshotPath else { return }
            do throws(SnapshotFile.WriteError) {
                try SnapshotFile.write(snapshotPath, state: state, httpPort: httpPort, snapshot: snapshot)
            } catch {
                report("warning: \(error)")
            }
        }
        // The file first: whoever sees the start line finds it there.
        let startSnapshot = collector.snapshot()
        writeSnapshot("running", startSnapshot)
        report("heartbeat collector: HTTP \(configuration.http.host):\(httpPort), UDP \(configuration.udp.host):\(collector.udpPort) ×\(configuration.receivers) receivers, sink \(configuration.sink.rawValue), registry version \(startSnapshot.registry.version) with \(startSnapshot.registry.applications) apps")
        while stop.wait(timeout: .now() + .seconds(statusInterval > 0 ? statusInterval : 3_600)) == .timedOut {
            guard statusInterval > 0 else { continue }
            let snapshot = collector.snapshot()
            report("status: \(snapshot.ingest)")
            snapshot.reportLines.dropFirst().forEach(report)  // the monitor's line only at the end
            writeSnapshot("running", snapshot)
        }
        report("shutting down: draining rings and storing every accepted record")
        collector.shutdown()
        let final = collector.snapshot()
        report("final: \(final.ingest)")
        final.reportLines.forEach(report)
        writeSnapshot("stopped", final)
        if !final.ingest.isBalanced { report("warning: the totals do not balance; please report this") }
        withExtendedLifetime(signals) {}
    }

    private func makeConfiguration() throws -> CollectorConfiguration {
        var configuration = CollectorConfiguration()
        configuration.receivers = max(1, min(64, ProcessInfo.processInfo.activeProcessorCount))
        if let text = udp ?? Environment.value("HEARTBEAT_UDP") { configuration.udp = try address(text, "--udp / HEARTBEAT_UDP") }
        if let text = http ?? Environment.value("HEARTBEAT_HTTP") { configuration.http = try address(text, "--http / HEARTBEAT_HTTP") }
        configuration.databaseURL = databaseURL ?? Environment.value("HEARTBEAT_DATABASE_URL") ?? ""
        configuration.databaseReadURL = databaseReadURL ?? Environment.value("HEARTBEAT_DATABASE_READ_URL")
        configuration.redisURL = redisURL ?? Environment.value("HEARTBEAT_REDIS_URL")
        if let value = try integer(redisSyncMs, "HEARTBEAT_REDIS_SYNC_MS", "--redis-sync-ms") { configuration.redisSyncMillis = value }
        if let value = try integer(hotStateVersion, "HEARTBEAT_HOT_STATE_VERSION", "--hot-state-version") { configuration.hotStateVersion = value }
        if let value = redisPrefix ?? Environment.value("HEARTBEAT_REDIS_PREFIX") { configuration.redisKeyPrefix = value }
        if let value = collectorID ?? Environment.value("HEARTBEAT_COLLECTOR_ID") { configuration.collectorID = value }
        configuration.webhookURLs = !webhookURL.isEmpty
            ? webhookURL
            : (Environment.value("HEARTBEAT_WEBHOOK_URLS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        configuration.webhookSecret = try secretSetting(
            webhookSecret, webhookSecretFile, variable: "HEARTBEAT_WEBHOOK_SECRET", flag: "--webhook-secret")
        configuration.publicURL = publicURL ?? Environment.value("HEARTBEAT_PUBLIC_URL")
        configuration.selfPingURL = selfPingURL ?? Environment.value("HEARTBEAT_SELF_PING_URL")
        configuration.adminToken = try secretSetting(adminToken, adminTokenFile, variable: "HEARTBEAT_ADMIN_TOKEN", flag: "--admin-token")
        configuration.readToken = try secretSetting(readToken, readTokenFile, variable: "HEARTBEAT_READ_TOKEN", flag: "--read-token")
        if let path = provisionKeyFile ?? Environment.value("HEARTBEAT_PROVISION_KEY_FILE") {
            configuration.provisionKey = try SecretFile.read(path, setting: "--provision-key-file / HEARTBEAT_PROVISION_KEY_FILE")
        }
        if let value = try integer(secretGraceS, "HEARTBEAT_SECRET_GRACE_S", "--secret-grace-s") { configuration.previousSecretSeconds = value }
        if let value = try integer(receivers, "HEARTBEAT_RECEIVERS", "--receivers") { configuration.receivers = value }
        if let value = try integer(httpMaxConnections, "HEARTBEAT_HTTP_MAX_CONNECTIONS", "--http-max-connections") { configuration.httpMaxConnections = value }
        if let value = try integer(httpThreads, "HEARTBEAT_HTTP_THREADS", "--http-threads") { configuration.httpThreads = value }
        if let value = try integer(ringSize, "HEARTBEAT_RING_SIZE", "--ring-size") { configuration.ringCapacity = value }
        if let value = try integer(receiveBuffer, "HEARTBEAT_RECEIVE_BUFFER", "--receive-buffer") { configuration.receiveBufferBytes = value }
        if let value = try integer(batchRows, "HEARTBEAT_BATCH_ROWS", "--batch-rows") { configuration.batchRows = value }
        if let value = try integer(batchAgeMs, "HEARTBEAT_BATCH_AGE_MS", "--batch-age-ms") { configuration.batchAgeMillis = value }
        if let value = try integer(writers, "HEARTBEAT_WRITERS", "--writers") { configuration.writerConnections = value }
        if let value = spoolDir ?? Environment.value("HEARTBEAT_SPOOL_DIR") { configuration.spoolDirectory = value }
        if let value = try integer(spoolMaxBytes, "HEARTBEAT_SPOOL_MAX_BYTES", "--spool-max-bytes") { configuration.spoolCapacityBytes = value }
        if let value = try integer(retentionDays, "HEARTBEAT_RETENTION_DAYS", "--retention-days") { configuration.retentionDays = value }
        if let value = try integer(runHistory, "HEARTBEAT_RUN_HISTORY", "--run-history") { configuration.runHistory = value }
        if let value = try integer(runRetentionDays, "HEARTBEAT_RUN_RETENTION_DAYS", "--run-retention-days") { configuration.runRetentionDays = value }
        if let value = try integer(maxSkewS, "HEARTBEAT_MAX_SKEW_S", "--max-skew-s") { configuration.allowedSkewSeconds = value }
        if let value = try integer(appRateLimit, "HEARTBEAT_APP_RATE_LIMIT", "--app-rate-limit") { configuration.appRateLimit = value }
        if let value = try integer(appBurst, "HEARTBEAT_APP_BURST", "--app-burst") { configuration.appBurst = value }
        if let value = try integer(appMaxInstances, "HEARTBEAT_APP_MAX_INSTANCES", "--app-max-instances") { configuration.appMaxInstances = value }
        if let value = try integer(maxInstances, "HEARTBEAT_MAX_INSTANCES", "--max-instances") { configuration.maxInstances = value }
        if let value = try integer(rollupRetentionDays, "HEARTBEAT_ROLLUP_RETENTION_DAYS", "--rollup-retention-days") {
            configuration.rollupRetentionDays = value
        }
        if let value = try integer(rollupFlushS, "HEARTBEAT_ROLLUP_FLUSH_S", "--rollup-flush-s") { configuration.rollupFlushSeconds = value }
        if let value = try integer(deliveryLossThreshold, "HEARTBEAT_DELIVERY_LOSS_THRESHOLD", "--delivery-loss-threshold") {
            configuration.deliveryLossThresholdPercent = value
        }
        if let value = try integer(deliveryMinExpected, "HEARTBEAT_DELIVERY_MIN_EXPECTED", "--delivery-min-expected") {
            configuration.deliveryMinimumExpected = value
        }
        if let value = try integer(remindEvery, "HEARTBEAT_REMIND_EVERY", "--remind-every") { configuration.remindEverySeconds = value }
        if let value = try integer(incidentHoldS, "HEARTBEAT_INCIDENT_HOLD_S", "--incident-hold-s") { configuration.incidentHoldSeconds = value }
        if let value = try integer(incidentLatePercent, "HEARTBEAT_INCIDENT_LATE_PERCENT", "--incident-late-percent") {
            configuration.incidentLatePercent = value
        }
        if let value = try integer(incidentLateMin, "HEARTBEAT_INCIDENT_LATE_MIN", "--incident-late-min") { configuration.incidentLateMinimum = value }
        if let text = rawEvents ?? Environment.value("HEARTBEAT_RAW_EVENTS") {
            guard let value = RawEvents(rawValue: text) else {
                throw UsageError("--raw-events / HEARTBEAT_RAW_EVENTS: '\(text)' is not accepted; expected all, runs or none")
            }
            configuration.rawEvents = value
        }
        if let text = sink ?? Environment.value("HEARTBEAT_SINK") {
            guard let value = CollectorConfiguration.Sink(rawValue: text) else {
                throw UsageError("--sink / HEARTBEAT_SINK: '\(text)' is not accepted; expected postgres or none")
            }
            configuration.sink = value
        }
        configuration.shareUDPPort = shareUDPPort || Environment.value("HEARTBEAT_SHARE_UDP_PORT") == "1"
        configuration.autoRegister = autoRegister || Environment.value("HEARTBEAT_AUTO_REGISTER") == "1"
        configuration.applicationMetrics = appMetrics || Environment.value("HEARTBEAT_APP_METRICS") == "1"
        configuration.monitor = !(noMonitor || Environment.value("HEARTBEAT_NO_MONITOR") == "1")
        if let value = try integer(checkPeriodMs, "HEARTBEAT_CHECK_PERIOD_MS", "--check-period-ms") { configuration.monitorPeriodMillis = value }
        if let value = try integer(autoRegisterPerMinute, "HEARTBEAT_AUTO_REGISTER_PER_MINUTE", "--auto-register-per-minute") {
            configuration.autoRegisterPerMinute = value
        }
        if let value = try integer(autoRegisterMax, "HEARTBEAT_AUTO_REGISTER_MAX", "--auto-register-max") { configuration.autoRegisterMaximum = value }
        do throws(CollectorConfiguration.InvalidSetting) {
            try configuration.validate()
        } catch {
            throw UsageError(error.description)
        }
        return configuration
    }

    private func address(_ text: String, _ setting: String) throws -> ListenAddress {
        do throws(ListenAddress.ParseError) {
            return try ListenAddress(parsing: text)
        } catch {
            throw UsageError("\(setting): \(error)")
        }
    }

    /// A secret given as a value (`--X`, `VARIABLE`) or as a file (`--X-file`, `VARIABLE_FILE`), at
    /// most one of them; a file is read whole, without its trailing newline.
    private func secretSetting(_ value: String?, _ file: String?, variable: String, flag: String) throws -> String? {
        let direct = value ?? Environment.value(variable)
        let path = file ?? Environment.value(variable + "_FILE")
        guard let path else { return direct }
        guard direct == nil else { throw UsageError("\(flag) and \(flag)-file (or \(variable) and \(variable)_FILE): give one of them, not both") }
        return try SecretFile.read(path, setting: "\(flag)-file / \(variable)_FILE")
    }

    /// The flag's value, else the environment variable's (which must be an integer), else nil.
    private func integer(_ flag: Int?, _ variable: String, _ name: String) throws -> Int? {
        if let flag { return flag }
        guard let text = Environment.value(variable) else { return nil }
        guard let value = Int(text) else { throw UsageError("\(variable) (\(name)): '\(text)' is not a whole number") }
        return value
    }
}

/// Writes one line to standard error.
func report(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
