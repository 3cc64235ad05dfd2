import Dispatch
import Foundation
import ThreadSafety

/// Delivers the notification outbox: claims due `notification_delivery` rows, builds each
/// channel's message with its kind, sends it, and records the outcome (delivered, or due again
/// after a backoff, or abandoned after the last attempt).
///
/// Claiming is a conditional UPDATE over rows picked `FOR UPDATE SKIP LOCKED` that sets a lease:
/// workers in any number of collectors never take the same row at once, and a row whose worker
/// died mid-delivery becomes due again when its lease runs out. So a notification is never lost;
/// it is sent twice only when a worker dies between the channel taking it and the row being
/// marked — which is why each message carries the delivery id (stable per notification and
/// channel) for receivers to de-duplicate. Per application and channel, notifications arrive in
/// the order they happened: a row is not claimed while an earlier one for the same application
/// and channel is still owed.
///
/// Each channel has a lane: its claimed rows are sent in order on a thread of their own, and the
/// dispatcher does not claim for a channel whose lane is busy — so a channel that times out holds
/// back only itself. Runs on its own threads and connections: it never blocks the monitor.
final class NotificationDeliverer: @unchecked Sendable {
    /// The configuration delivery follows.
    struct Settings: Sendable {
        /// Per-message timeout.
        var timeoutMillis = 5_000
        /// Rows claimed at once (a lane takes them in order; more per claim means fewer round trips:
        /// Spec/tuning.md, "Notifications").
        var batch = 64
        /// Attempts before a row is abandoned (counted).
        var maximumAttempts = 12
        /// Backoff after attempt n: min(base × 2^(n-1), cap).
        var backoffBaseMillis = 1_000
        var backoffCapMillis = 600_000
        /// How often the outbox is polled when it was empty.
        var pollMillis = 200
        /// Base of `{{url}}` (`--public-url`); empty leaves `{{url}}` empty.
        var publicURL = ""
        /// Closed notifications (`sent`, `abandoned`) older than this are deleted, with their
        /// delivery rows (`status_change` keeps the history).
        var retentionDays = 30
        /// An external heartbeat URL GETted every `selfPingSeconds` (`--self-ping-url`).
        var selfPingURL: String?
        var selfPingSeconds = 30
        /// The reminder period of applications without their own (`--remind-every`), ms; 0: none.
        var remindEveryMillis = 0

        /// A claimed row belongs to its worker this long; a lane still sending renews the leases
        /// of the rows it holds every `leaseSeconds / 3`, so a slow channel's rows are not taken
        /// over while still being sent, and a dead worker's are free a minute later.
        var leaseSeconds = 60

        /// What `{{url}}` is for `uuid`.
        func applicationURL(_ uuid: String) -> String {
            guard !publicURL.isEmpty else { return "" }
            return (publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL) + "/apps/" + uuid
        }
    }

    /// One claimed row, with what sending it needs.
    struct Claimed {
        let deliveryID: Int64
        let notificationID: Int64
        let attempts: Int
        let payload: String
        let channel: NotificationChannel
    }

    private let databaseURL: String
    private let settings: Settings
    private let metrics: NotificationMetrics
    let worker = WorkerThread()
    /// Channels whose lane is sending now (not claimed for until it is done).
    private let busy = Locked(Set<Int>())
    /// A lane's state (a lane runs alone per channel): its HTTP handle, kept between batches so
    /// the channel's connection stays open, and the PostgreSQL connection it holds while a batch
    /// runs (from ``idleLaneConnections``; handed back when the batch is done).
    private struct LaneState: @unchecked Sendable {
        var connection: PostgresConnection?
        var http = MessageTransport.HTTPClient()
    }

    private let laneStates = Locked([Int: LaneState]())
    /// PostgreSQL connections lanes hand back after a batch, for the next batch of any channel
    /// (the most recently handed back first); one idle for ``laneConnectionIdleSeconds`` is
    /// closed. So a collector holds as many lane connections as lanes were busy at once lately,
    /// not one per channel for ever, and lanes that keep sending never reconnect.
    private let idleLaneConnections = Locked([IdleConnection]())
    static let laneConnectionIdleSeconds: Double = 10
    private struct IdleConnection: @unchecked Sendable {
        let connection: PostgresConnection
        let since: Date
    }
    private let lanes = DispatchGroup()
    private let laneFinished = DispatchSemaphore(value: 0)
    private var lastRefresh = [Int: Date]()
    private var lastRefreshScan = Date.distantPast
    private var lastDepthCount = Date.distantPast
    private var lastSelfPing = Date.distantPast
    private var lastRetention = Date.distantPast
    private var lastReminderScan = Date.distantPast

    /// When a failed PostgreSQL round trip is said on stderr (the dispatcher and lanes share it).
    private let failureReport = Locked(FailureReport())

    /// The silences in force now (releases and reminders ask it); nil: none are known.
    private let activeSilences: @Sendable () -> ActiveSilences?

    init(databaseURL: String, settings: Settings, metrics: NotificationMetrics, activeSilences: @escaping @Sendable () -> ActiveSilences? = { nil }) {
        self.databaseURL = databaseURL
        self.settings = settings
        self.metrics = metrics
        self.activeSilences = activeSilences
    }

    /// Delivers until stopped; stopping waits for the messages in flight (their rows are marked,
    /// or their leases run out).
    func run() {
        var connection: PostgresConnection?
        while !worker.isStopRequested {
            var claimed = 0
            var operation = "connecting to PostgreSQL"
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try Self.connect(databaseURL) }
                operation = "claiming due deliveries"
                claimed = try dispatchDueRows(on: connection!)
                operation = "re-sending channel state"
                try refreshIfDue(on: connection!)
                operation = "deleting expired notifications"
                try deleteExpiredIfDue(on: connection!)
                if Date().timeIntervalSince(lastReminderScan) >= 1 {
                    lastReminderScan = Date()
                    operation = "releasing held notifications and queuing reminders"
                    try releaseAndRemind(on: connection!)
                }
                if Date().timeIntervalSince(lastDepthCount) >= 0.2 {
                    lastDepthCount = Date()
                    operation = "counting the outbox"
                    let owed = try connection!.execute(
                        "SELECT count(*) AS owed FROM notification_delivery WHERE delivered_at IS NULL AND abandoned_at IS NULL")
                    metrics.queueDepth.store(owed.rows.first?.int64("owed") ?? 0, ordering: .relaxed)
                }
            } catch {
                connection = nil
                noteFailure(operation, error, retried: "retried in \(settings.pollMillis) ms")
            }
            selfPingIfDue()
            let now = Date()
            idleLaneConnections.withLock { $0.removeAll { now.timeIntervalSince($0.since) > Self.laneConnectionIdleSeconds } }
            // Nothing claimed: wait for a lane to finish (its channel may have more) or the poll.
            if claimed == 0 { _ = laneFinished.wait(timeout: .now() + .milliseconds(settings.pollMillis)) }
        }
        lanes.wait()
        laneStates.withLock { $0.removeAll() }
        idleLaneConnections.withLock { $0.removeAll() }
    }

    /// Claims due rows of channels whose lane is idle and hands each channel's rows to its lane;
    /// returns how many were claimed. The ids are picked into an array before the UPDATE: written
    /// as `id IN (…)`, the planner, misled by an outbox without statistics yet, joined them
    /// against a scan of the whole table, and a claim took 150 ms at 30,000 rows.
    private func dispatchDueRows(on connection: PostgresConnection) throws(PostgresError) -> Int {
        let skip = busy.withLock { Array($0) }
        let rows = try connection.execute("""
            WITH claimed AS (
                UPDATE notification_delivery SET leased_until = now() + make_interval(secs => $1::integer), attempts = attempts + 1
                WHERE id = ANY (ARRAY(
                    SELECT id FROM notification_delivery AS due
                    WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= now()
                      AND (leased_until IS NULL OR leased_until < now())
                      AND channel_id <> ALL ($2::integer[])
                      AND (SELECT kind FROM notification_channel WHERE notification_channel.id = due.channel_id) = ANY ($4::text[])
                      AND (SELECT state FROM notification WHERE notification.id = due.notification_id) IN ('pending', 'released')
                      AND (due.application_id IS NULL OR due.id = (
                          SELECT min(earlier.id) FROM notification_delivery AS earlier
                          WHERE earlier.application_id = due.application_id AND earlier.channel_id = due.channel_id
                            AND earlier.delivered_at IS NULL AND earlier.abandoned_at IS NULL))
                    ORDER BY id LIMIT $3::integer FOR UPDATE SKIP LOCKED))
                RETURNING id, notification_id, channel_id, attempts)
            SELECT claimed.id AS delivery_id, claimed.notification_id, claimed.attempts, notification.payload, \(ChannelStore.qualifiedColumns)
            FROM claimed JOIN notification ON notification.id = claimed.notification_id
                JOIN notification_channel ON notification_channel.id = claimed.channel_id
            ORDER BY claimed.id
            """, [
                String(settings.leaseSeconds), PostgresConnection.arrayParameter(skip.map(String.init)), String(settings.batch),
                // Only kinds this build can send: a channel of a kind a newer collector added waits for one of those.
                PostgresConnection.arrayParameter(NotificationKinds.all.map { $0.name }),
            ]).rows
        var byChannel = [Int: [Claimed]]()
        for row in rows {
            guard let deliveryID = row.int64("delivery_id"), let notificationID = row.int64("notification_id"), let attempts = row.int("attempts"),
                  let payload = row["payload"]
            else { continue }
            let channel = ChannelStore.channel(row)
            byChannel[channel.id, default: []].append(Claimed(
                deliveryID: deliveryID, notificationID: notificationID, attempts: attempts, payload: payload, channel: channel))
        }
        for (channelID, claimed) in byChannel {
            busy.withLock { _ = $0.insert(channelID) }
            lanes.enter()
            DispatchQueue.global().async { [self] in
                deliver(claimed, channelID: channelID)
                busy.withLock { _ = $0.remove(channelID) }
                laneFinished.signal()
                lanes.leave()
            }
        }
        return rows.count
    }

    /// One lane's batch: sends each row in order and records the outcomes. When the collector is
    /// stopping, the rows not yet sent are handed back (lease and attempt undone) instead: a
    /// channel that times out cannot hold a shutdown for a batch's worth of timeouts.
    private func deliver(_ claimed: [Claimed], channelID: Int) {
        var lane = laneStates.withLock { $0.removeValue(forKey: channelID) } ?? LaneState()
        defer {
            if let connection = lane.connection, connection.isConnected {
                idleLaneConnections.withLock { $0.append(IdleConnection(connection: connection, since: Date())) }
            }
            lane.connection = nil
            laneStates.withLock { $0[channelID] = lane }
        }
        var outcomes = [(Claimed, String?)]()
        var skipped = Set<Int64>()
        var renewed = Date()
        var unsent = [Int64]()
        for (index, row) in claimed.enumerated() {
            if worker.isStopRequested {
                unsent = claimed[index...].map(\.deliveryID)
                break
            }
            if Date().timeIntervalSince(renewed) >= Double(settings.leaseSeconds) / 3 {
                renewed = Date()
                renewLeases(of: claimed[index...].map(\.deliveryID), lane: &lane)
            }
            let nowMicros = WallClock.nowMicros()
            guard let facts = NotificationFacts(payload: row.payload), let kind = row.channel.sender else {
                outcomes.append((row, row.channel.sender == nil ? "unknown kind \(row.channel.kind) in this collector" : "unreadable notification"))
                continue
            }
            let notification = OutgoingNotification(
                facts: facts, channel: row.channel, deliveryID: String(row.deliveryID),
                applicationURL: settings.applicationURL(facts.applicationUUID), nowMicros: nowMicros)
            guard let message = kind.message(for: notification) else {
                skipped.insert(row.deliveryID)
                outcomes.append((row, nil))
                continue
            }
            outcomes.append((row, MessageTransport.send(message, timeoutMillis: settings.timeoutMillis, client: lane.http)))
        }
        markOutcomes(outcomes, skipped: skipped, unsent: unsent, lane: &lane)
    }

    /// Records a lane's outcomes and hands back its unsent rows, trying again while
    /// ``OutcomeMarkRetry`` allows when PostgreSQL refuses; after that the rows keep their leases
    /// and are sent again when they run out.
    private func markOutcomes(_ outcomes: [(Claimed, String?)], skipped: Set<Int64>, unsent: [Int64], lane: inout LaneState) {
        let retry = OutcomeMarkRetry(leaseSeconds: settings.leaseSeconds)
        var firstFailure: Date?
        var failures = 0
        while true {
            do throws(PostgresError) {
                let connection = try laneConnection(&lane)
                try record(outcomes, skipped: skipped, on: connection)
                if !unsent.isEmpty {
                    try connection.execute(
                        "UPDATE notification_delivery SET leased_until = NULL, attempts = attempts - 1 WHERE id = ANY ($1::bigint[]) AND leased_until IS NOT NULL",
                        [PostgresConnection.arrayParameter(unsent.map(String.init))])
                }
                return
            } catch {
                lane.connection = nil
                noteFailure("marking a lane's outcomes", error, retried: "tried again for up to \(Int(retry.budgetSeconds)) s, then the rows wait for their lease")
                failures += 1
                let since = firstFailure ?? Date()
                firstFailure = since
                guard !worker.isStopRequested, let wait = retry.delay(afterFailures: failures, elapsedSeconds: Date().timeIntervalSince(since))
                else { return }
                usleep(UInt32(wait * 1_000_000))
            }
        }
    }

    /// The lane's connection for this batch: the one it holds, else an idle one handed back by an
    /// earlier batch, else a new one.
    private func laneConnection(_ lane: inout LaneState) throws(PostgresError) -> PostgresConnection {
        if let connection = lane.connection, connection.isConnected { return connection }
        while let idle = idleLaneConnections.withLock({ $0.popLast() }) {
            guard idle.connection.isConnected else { continue }
            lane.connection = idle.connection
            return idle.connection
        }
        let connection = try Self.connect(databaseURL)
        try connection.query("SET synchronous_commit TO off")  // see record(_:skipped:on:)
        lane.connection = connection
        return connection
    }

    /// A connection for the dispatcher or a lane. JIT compilation is off: the claim's planner
    /// estimate (correlated subqueries over an outbox without statistics yet) passes
    /// `jit_above_cost`, and compiling then took ~25 ms of a claim that runs in about one
    /// (`Spec/tuning.md`, "Notifications").
    private static func connect(_ url: String) throws(PostgresError) -> PostgresConnection {
        let connection = try PostgresConnection(url: url)
        try connection.query("SET jit TO off")
        return connection
    }

    /// Extends the leases of rows a lane still holds (a failure only shortens them: they expire
    /// and are sent again, with the same dedupe ids).
    private func renewLeases(of ids: [Int64], lane: inout LaneState) {
        do throws(PostgresError) {
            try laneConnection(&lane).execute(
                "UPDATE notification_delivery SET leased_until = now() + make_interval(secs => $2::integer) WHERE id = ANY ($1::bigint[])",
                [PostgresConnection.arrayParameter(ids.map(String.init)), String(settings.leaseSeconds)])
        } catch {
            lane.connection = nil
            noteFailure("renewing a lane's leases", error, retried: "tried again in \(settings.leaseSeconds / 3) s")
        }
    }

    /// Counts a failed PostgreSQL round trip and says what failed on standard error, at most one
    /// line every half minute (``FailureReport``).
    private func noteFailure(_ operation: String, _ error: PostgresError, retried: String) {
        metrics.databaseFailures.wrappingIncrement(ordering: .relaxed)
        if let unreported = failureReport.withLock({ $0.failed(atMicros: WallClock.nowMicros()) }) {
            FileHandle.standardError.write(Data(FailureReport.line("notifications", operation, error, unreported: unreported, retried: retried).utf8))
        }
    }

    /// Marks a lane's outcomes: each row delivered, due again after its backoff, or abandoned;
    /// each notification's count of unfinished deliveries goes down under its row lock (taken in
    /// id order, so lanes finishing the same notifications never deadlock), and the lane that
    /// takes it to 0 closes it (`sent`, or `abandoned`); the channel's counts go up. One
    /// statement, so it takes effect whole or not at all, and only on rows this lane still holds
    /// (leased, at the attempt it claimed): a try again after a failure whose commit did reach
    /// PostgreSQL, or a lane whose lease ran out and whose rows another worker took, changes
    /// nothing twice. Lane connections commit asynchronously (`synchronous_commit = off`): a mark
    /// lost in a PostgreSQL crash only makes its row due again — sent twice with the same dedupe
    /// id, never lost — and waiting for the WAL flush cost more than sending.
    func record(_ outcomes: [(Claimed, String?)], skipped: Set<Int64>, on connection: PostgresConnection) throws(PostgresError) {
        guard let channel = outcomes.first?.0.channel else { return }
        let failures = outcomes.compactMap { row, failure in failure.map { (row, String($0.prefix(500))) } }
        let abandoned = failures.filter { $0.0.attempts >= settings.maximumAttempts }.count
        let lastError = failures.last?.1
        let sent = outcomes.count - failures.count - skipped.count
        try connection.execute("""
            WITH outcome AS (
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::double precision[], $4::integer[]) AS o (id, error, backoff_s, attempts)),
            marked AS (
                UPDATE notification_delivery AS delivery SET
                    delivered_at = CASE WHEN outcome.error IS NULL THEN now() END,
                    abandoned_at = CASE WHEN outcome.error IS NOT NULL AND outcome.backoff_s IS NULL THEN now() END,
                    next_attempt_at = CASE WHEN outcome.backoff_s IS NOT NULL THEN now() + make_interval(secs => outcome.backoff_s)
                                           ELSE delivery.next_attempt_at END,
                    leased_until = NULL, last_error = outcome.error
                FROM outcome
                WHERE delivery.id = outcome.id AND delivery.leased_until IS NOT NULL AND delivery.attempts = outcome.attempts
                RETURNING delivery.notification_id, outcome.backoff_s IS NULL AS finished,
                          outcome.error IS NOT NULL AND outcome.backoff_s IS NULL AS gave_up),
            finished AS (
                SELECT notification_id, count(*) AS done, count(*) FILTER (WHERE gave_up) AS given_up
                FROM marked WHERE finished GROUP BY notification_id),
            locked AS (
                SELECT id FROM notification WHERE id IN (SELECT notification_id FROM finished) ORDER BY id FOR UPDATE),
            counted AS (
                UPDATE notification_channel SET delivered = delivered + $6::bigint, failed = failed + $7::bigint, abandoned = abandoned + $8::bigint,
                    last_error = coalesce($9::text, last_error), last_error_at = CASE WHEN $9::text IS NULL THEN last_error_at ELSE now() END
                WHERE id = $5::integer AND EXISTS (SELECT 1 FROM marked))
            UPDATE notification SET updated_at = now(),
                deliveries_owed = notification.deliveries_owed - finished.done,
                deliveries_abandoned = notification.deliveries_abandoned + finished.given_up,
                state = CASE WHEN notification.state NOT IN ('pending', 'released') OR notification.deliveries_owed - finished.done > 0
                                  THEN notification.state
                             WHEN notification.deliveries_abandoned + finished.given_up > 0 THEN 'abandoned'
                             ELSE 'sent' END
            FROM finished WHERE notification.id = finished.notification_id AND notification.id IN (SELECT id FROM locked)
            """, [
                PostgresConnection.arrayParameter(outcomes.map { String($0.0.deliveryID) }),
                PostgresConnection.arrayParameter(outcomes.map { $0.1.map { String($0.prefix(500)) } }),
                // A failure's backoff; NULL for a delivered row, and for a failure at its last attempt (abandoned).
                PostgresConnection.arrayParameter(outcomes.map { row, failure -> String? in
                    guard failure != nil, row.attempts < settings.maximumAttempts else { return nil }
                    return String(Double(min(settings.backoffBaseMillis << min(row.attempts - 1, 30), settings.backoffCapMillis)) / 1_000)
                }),
                PostgresConnection.arrayParameter(outcomes.map { String($0.0.attempts) }),
                String(channel.id), String(sent), String(failures.count), String(abandoned), lastError,
            ])
        metrics.skipped.wrappingIncrement(by: UInt64(skipped.count), ordering: .relaxed)
        metrics.record(channel, delivered: sent, failed: failures.count, abandoned: abandoned, lastError: lastError)
    }

    /// Re-sends the state of channels whose kind forgets it (Alertmanager), when each is due.
    private func refreshIfDue(on connection: PostgresConnection) throws(PostgresError) {
        let now = Date()
        guard now.timeIntervalSince(lastRefreshScan) >= 5 else { return }
        lastRefreshScan = now
        let channels = try connection.execute("SELECT \(ChannelStore.columns) FROM notification_channel WHERE enabled").rows.map(ChannelStore.channel)
        for channel in channels {
            guard let kind = channel.sender as? any RefreshingNotificationKind.Type else { continue }
            if let last = lastRefresh[channel.id], now.timeIntervalSince(last) < Double(kind.refreshSeconds(channel)) { continue }
            lastRefresh[channel.id] = now
            let takesDown = channel.events?.contains("down") ?? true
            let down = takesDown ? try Self.downApplications(for: channel, on: connection) : []
            let recovered = takesDown ? try Self.recentRecoveries(for: channel, on: connection) : []
            for message in kind.refresh(
                down: down, recovered: recovered, channel: channel, applicationURL: settings.applicationURL, nowMicros: WallClock.nowMicros())
            {
                let failure = MessageTransport.send(message, timeoutMillis: settings.timeoutMillis)
                metrics.record(channel, delivered: failure == nil ? 1 : 0, failed: failure == nil ? 0 : 1, abandoned: 0, lastError: failure)
            }
        }
    }

    /// The applications down now that `channel`'s label filter selects, as facts of the
    /// transition that took each down.
    static func downApplications(for channel: NotificationChannel, on connection: PostgresConnection) throws(PostgresError) -> [NotificationFacts] {
        try connection.execute("""
            SELECT notification.payload FROM application
            JOIN LATERAL (SELECT payload, state FROM notification WHERE notification.application_id = application.id AND notification.event = 'down'
                          ORDER BY id DESC LIMIT 1) AS notification ON true
            WHERE application.status = 'down' AND NOT application.auto_registered AND application.labels @> $1::jsonb
              AND notification.state NOT IN ('held', 'silenced')  -- a silence holds it: not announced
            """, [ChannelStore.jsonText(channel.labelFilter)]).rows.compactMap { $0["payload"].flatMap(NotificationFacts.init(payload:)) }
    }

    /// Once a second: decides the notifications silences held for applications no silence
    /// covers any more (``SilenceRelease``), then queues the reminders that are due (``Reminders``).
    private func releaseAndRemind(on connection: PostgresConnection) throws(PostgresError) {
        let silences = activeSilences()
        let held = try SilenceRelease.heldApplications(on: connection)
        if !held.isEmpty {
            let ended = held.filter { silences?.covering($0) == nil }
            let (released, dropped) = try SilenceRelease.release(ended, on: connection)
            metrics.heldReleased.wrappingIncrement(by: UInt64(released), ordering: .relaxed)
            metrics.heldDropped.wrappingIncrement(by: UInt64(dropped), ordering: .relaxed)
        }
        let queued = try Reminders.queueDue(defaultEveryMillis: settings.remindEveryMillis, silenced: silences, on: connection)
        metrics.remindersQueued.wrappingIncrement(by: UInt64(queued), ordering: .relaxed)
    }

    /// Deletes closed notifications past the retention, hourly, at most 10,000 a statement (any
    /// collector may do it; the deletes are idempotent).
    private func deleteExpiredIfDue(on connection: PostgresConnection) throws(PostgresError) {
        guard Date().timeIntervalSince(lastRetention) >= 3_600 else { return }
        lastRetention = Date()
        while true {
            let deleted = try connection.execute("""
                DELETE FROM notification WHERE id IN (
                    SELECT id FROM notification WHERE state IN ('sent', 'abandoned', 'silenced')
                      AND updated_at < now() - make_interval(days => $1::integer) LIMIT 10000)
                RETURNING id
                """, [String(settings.retentionDays)]).rows.count
            metrics.notificationsExpired.wrappingIncrement(by: UInt64(deleted), ordering: .relaxed)
            if deleted < 10_000 || worker.isStopRequested { break }
        }
    }

    /// The transitions out of `down` of the last 15 minutes, for applications not down now that
    /// `channel`'s label filter selects (each application's latest).
    static func recentRecoveries(for channel: NotificationChannel, on connection: PostgresConnection) throws(PostgresError) -> [NotificationFacts] {
        try connection.execute("""
            SELECT payload FROM (
                SELECT DISTINCT ON (notification.application_id) notification.payload, notification.state
                FROM notification JOIN application ON application.id = notification.application_id
                WHERE notification.created_at > now() - interval '15 minutes' AND notification.payload::jsonb ->> 'from' = 'down'
                  AND application.status <> 'down' AND application.labels @> $1::jsonb
                ORDER BY notification.application_id, notification.id DESC) AS latest
            WHERE latest.state NOT IN ('held', 'silenced')
            """, [ChannelStore.jsonText(channel.labelFilter)]).rows.compactMap { $0["payload"].flatMap(NotificationFacts.init(payload:)) }
    }

    /// GETs `--self-ping-url` every `selfPingSeconds`, so another monitor notices when this one stops.
    private func selfPingIfDue() {
        guard let url = settings.selfPingURL, Date().timeIntervalSince(lastSelfPing) >= Double(settings.selfPingSeconds) else { return }
        lastSelfPing = Date()
        if MessageTransport.get(url, timeoutMillis: settings.timeoutMillis) == nil {
            metrics.selfPingsSent.wrappingIncrement(ordering: .relaxed)
        } else {
            metrics.selfPingsFailed.wrappingIncrement(ordering: .relaxed)
        }
    }
}

extension NotificationDeliverer: ThreadedService {
    var threadName: String { "heartbeat-notify" }
    var serviceName: String { "notification delivery" }
}
