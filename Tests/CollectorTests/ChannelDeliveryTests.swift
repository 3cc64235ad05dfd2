@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// Channels as data, end to end: a real collector records transitions, routes them to channels in
/// PostgreSQL, and its delivery worker sends them to real servers (Prometheus Alertmanager, an SMTP
/// server) or to local receivers that check each kind's documented payload.
@Suite("Notification channels (integration)", .serialized)
struct ChannelDeliveryTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    static func json(_ request: WebhookReceiver.Request) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]) ?? [:]
    }

    /// Application `index` beats every 500 ms with 500 ms of grace: late 0.5 s and down 1 s after a record.
    static func fastDeadlines(_ harness: Harness, _ index: Int) throws {
        try harness.connection.query("UPDATE application SET interval_ms = 500, grace_ms = 500 WHERE id = \(harness.applications[index].id)")
        usleep(400_000)  // the registry poll (100 ms) brings it to the monitor
    }

    @Test("routing and templates: a team=payments channel gets only payments' applications, rendered; an 'up only' channel gets every up")
    func routingAndTemplates() throws {
        let payments = WebhookReceiver()
        let everyone = WebhookReceiver()
        defer { payments.stop(); everyone.stop() }
        let harness = try Harness {
            $0.monitorPeriodMillis = 200
            $0.publicURL = "https://hb.example/"
        }
        defer { harness.pipeline.shutdown() }
        try harness.connection.query(#"UPDATE application SET labels = '{"team": "payments"}' WHERE id = \#(harness.applications[1].id)"#)
        try harness.connection.query(#"UPDATE application SET labels = '{"team": "search"}' WHERE id = \#(harness.applications[2].id)"#)
        _ = try ChannelStore.create(NotificationChannel(
            kind: "slack", name: "payments chat", settings: ["url": payments.url], labelFilter: ["team": "payments"],
            titleTemplate: "[{{labels.team}}] {{name}} is {{status}}", bodyTemplate: "{{name}} went {{previous}} → {{status}} ({{reason}}) {{url}}"),
            on: harness.connection)
        _ = try ChannelStore.create(NotificationChannel(kind: "slack", name: "ups", settings: ["url": everyone.url], events: ["up"]), on: harness.connection)
        harness.sender.send(harness.record(1, sequence: 1))
        harness.sender.send(harness.record(2, sequence: 1))
        #expect(waitUntil(8) { payments.requests.count >= 1 && everyone.requests.count >= 2 })
        usleep(600_000)  // room for a notification that should not come
        #expect(payments.requests.count == 1)
        let message = payments.requests.first.map(Self.json) ?? [:]
        #expect(message["text"] as? String == "[payments] app 1 is up")
        let attachment = (message["attachments"] as? [[String: Any]])?.first
        #expect(attachment?["text"] as? String == "app 1 went new → up (heartbeat) https://hb.example/apps/\(harness.applications[1].uuid)")
        #expect(attachment?["color"] as? String == "#2eb886")
        #expect(Set(everyone.requests.compactMap { Self.json($0)["text"] as? String }) == ["app 1 is up", "app 2 is up"])
        #expect(try harness.connection.query("SELECT name, delivered FROM notification_channel ORDER BY id") == [["payments chat", "1"], ["ups", "2"]])
        #expect(try harness.connection.query("SELECT state, count(*) FROM notification GROUP BY state") == [["sent", "2"]])
    }

    @Test("pagerduty: down triggers and recovery resolves under one dedup key; up and late send nothing (skipped)")
    func pagerDuty() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        defer { harness.pipeline.shutdown() }
        _ = try ChannelStore.create(
            NotificationChannel(kind: "pagerduty", name: "pager", settings: ["url": receiver.url], secret: "R0UTING-KEY"), on: harness.connection)
        try Self.fastDeadlines(harness, 1)
        harness.sender.send(harness.record(1, sequence: 1))
        #expect(waitUntil(8) { receiver.requests.count >= 1 })
        harness.sender.send(harness.record(1, sequence: 2))
        #expect(waitUntil(8) { receiver.requests.count >= 2 })
        let events = receiver.requests.map(Self.json)
        #expect(events.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(Set(events.compactMap { $0["dedup_key"] as? String }) == ["heartbeat-\(harness.applications[1].uuid)"])
        #expect(events.allSatisfy { $0["routing_key"] as? String == "R0UTING-KEY" })
        let payload = events.first?["payload"] as? [String: Any]
        #expect(payload?["summary"] as? String == "app 1 is down" && payload?["severity"] as? String == "critical")
        #expect(payload?["source"] as? String == "heartbeat" && (payload?["timestamp"] as? String)?.hasSuffix("Z") == true)
        #expect(receiver.requests.allSatisfy { $0.headers["content-type"] == "application/json" })
        // new→up, up→late and down→up's successor late… : every row is done, the skipped ones too.
        #expect(waitUntil(3) { (try? harness.connection.query("SELECT count(*) FROM notification_delivery WHERE delivered_at IS NULL")) == [["0"]] })
        #expect(harness.pipeline.notificationMetrics.skipped.load(ordering: .relaxed) >= 2, "new→up and up→late are skipped")
    }

    @Test("alertmanager (a real one): the watchdog fires, down fires HeartbeatDown with the app's labels, firing alerts are re-sent, recovery resolves")
    func alertmanager() throws {
        let directory = NSTemporaryDirectory() + "heartbeat-am-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            route:
              receiver: blackhole
              group_wait: 1s
            receivers:
              - name: blackhole
            """.write(toFile: directory + "/alertmanager.yml", atomically: true, encoding: .utf8)
        let port = freeTCPPort()
        let alertmanager = try ChildProcess(
            "/usr/bin/prometheus-alertmanager",
            ["--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)",
             "--cluster.listen-address="],
            logPath: directory + "/alertmanager.log")
        defer { alertmanager.stop() }
        #expect(waitUntil(20) { (try? httpRequest(port: port, "/-/ready"))?.status == 200 }, "Alertmanager ready: \(alertmanager.log)")
        func alerts() -> [[String: Any]] {
            guard let answer = try? httpRequest(port: port, "/api/v2/alerts") else { return [] }
            return (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]]) ?? []
        }
        func names() -> Set<String> { Set(alerts().compactMap { ($0["labels"] as? [String: String])?["alertname"] }) }

        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        defer { harness.pipeline.shutdown() }
        try harness.connection.query(#"UPDATE application SET labels = '{"team": "payments", "alertname": "mine"}' WHERE id = \#(harness.applications[1].id)"#)
        let channel = try ChannelStore.create(
            NotificationChannel(kind: "alertmanager", name: "am", settings: ["url": "http://127.0.0.1:\(port)", "resend_seconds": "10"]),
            on: harness.connection)
        #expect(waitUntil(10) { names().contains("HeartbeatWatchdog") }, "the dead man's switch fires")
        try Self.fastDeadlines(harness, 1)
        harness.sender.send(harness.record(1, sequence: 1))
        #expect(waitUntil(10) { names().contains("HeartbeatDown") })
        let down = alerts().first { ($0["labels"] as? [String: String])?["alertname"] == "HeartbeatDown" }
        let labels = down?["labels"] as? [String: String]
        #expect(labels?["application"] == "app 1" && labels?["uuid"] == "\(harness.applications[1].uuid)" && labels?["team"] == "payments")
        #expect(labels?["severity"] == "critical", "ours win over the app's own alertname")
        #expect((down?["status"] as? [String: Any])?["state"] as? String == "active")
        // A re-send: the channel takes more messages with no new transition.
        let sent = { harness.pipeline.notificationMetrics.perChannel[channel.channel.id]?.delivered ?? 0 }
        let before = sent()
        #expect(waitUntil(14) { sent() > before }, "firing alerts are re-sent every resend_seconds")
        #expect(try harness.connection.query("SELECT count(*) FROM notification WHERE event = 'down'") == [["1"]], "…without a new notification")
        // It recovers and stays up (a long interval now, or it would go down again a second later).
        try harness.connection.query("UPDATE application SET interval_ms = 600000 WHERE id = \(harness.applications[1].id)")
        usleep(400_000)
        harness.sender.send(harness.record(1, sequence: 2))
        // The resolve is delivered at once; a re-send that raced it is corrected by the next re-send.
        #expect(waitUntil(20) { !names().contains("HeartbeatDown") }, "recovery resolves the alert")
        #expect(names().contains("HeartbeatWatchdog"))
        // A re-send that raced the recovery (read `down`, posted after the resolve) reopens the
        // alert; the next re-send states the recovery again and closes it.
        let downPayload = try #require(try harness.connection.query("SELECT payload FROM notification WHERE event = 'down'").first?[0])
        let stale = AlertmanagerKind.refresh(
            down: [try #require(NotificationFacts(payload: downPayload))], recovered: [], channel: channel.channel, applicationURL: { _ in "" },
            nowMicros: WallClock.nowMicros())
        #expect(stale.allSatisfy { MessageTransport.send($0, timeoutMillis: 5_000) == nil })
        #expect(names().contains("HeartbeatDown"), "reopened by the stale re-send")
        #expect(waitUntil(20) { !names().contains("HeartbeatDown") }, "closed again by the next re-send's resolved alert: \(alerts())")
    }

    @Test("email (a real SMTP server with AUTH): a test notification and a transition arrive as parsed messages; a wrong password is an error")
    func email() throws {
        let directory = NSTemporaryDirectory() + "heartbeat-smtp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/mail", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = freeTCPPort()
        let server = try ChildProcess(
            "/usr/bin/python3", [repositoryRoot.appendingPathComponent("Tests/Fixtures/smtp_receiver.py").path, "\(port)", directory + "/mail", "hb", "s3cret"],
            logPath: directory + "/smtp.log")
        defer { server.stop() }
        #expect(waitUntil(15) { server.log.contains("ready") }, "SMTP server: \(server.log)")
        let settings = [
            "smtp_url": "smtp://127.0.0.1:\(port)", "from": "heartbeat@example.com", "to": "ops@example.com, oncall@example.com", "username": "hb",
        ]
        let wrong = NotificationChannel(kind: "email", name: "wrong", settings: settings, secret: "nope")
        let failure = TestNotification.send(to: wrong, publicURL: nil)
        #expect(failure?.hasPrefix("smtp: ") == true, "\(failure ?? "accepted")")
        // This server offers no STARTTLS: `tls: required` refuses it rather than send in clear.
        var plainRefused = settings
        plainRefused["tls"] = "required"
        let refused = TestNotification.send(to: NotificationChannel(kind: "email", name: "tls", settings: plainRefused, secret: "s3cret"), publicURL: nil)
        #expect(refused?.hasPrefix("smtp: ") == true, "\(refused ?? "sent without TLS")")

        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        defer { harness.pipeline.shutdown() }
        let channel = try ChannelStore.create(
            NotificationChannel(kind: "email", name: "mail", settings: settings, secret: "s3cret", titleTemplate: "[hb] {{name}} is {{status}}"),
            on: harness.connection)
        #expect(TestNotification.send(to: channel.channel, publicURL: nil) == nil)
        harness.sender.send(harness.record(1, sequence: 1))
        let mail = { (try? FileManager.default.contentsOfDirectory(atPath: directory + "/mail").filter { !$0.hasPrefix(".") }.sorted()) ?? [] }
        #expect(waitUntil(8) { mail().count >= 2 })
        let messages = mail().compactMap { try? String(contentsOfFile: directory + "/mail/" + $0, encoding: .utf8) }
        #expect(messages.count == 2)
        for message in messages {
            #expect(message.contains("X-Envelope-From: heartbeat@example.com\r\n"))
            #expect(message.contains("X-Envelope-To: ops@example.com,oncall@example.com\r\n"))
            #expect(message.contains("X-Authenticated-As: hb\r\n"))
            #expect(message.contains("\r\nFrom: heartbeat@example.com\r\n") && message.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        }
        #expect(messages.contains { $0.contains("\r\nSubject: [hb] heartbeat test notification is down\r\n") })
        let transition = messages.first { $0.contains("\r\nSubject: [hb] app 1 is up\r\n") }
        #expect(transition?.contains("app 1 went from new to up at ") == true, "the default body: \(transition ?? "none")")
    }

    @Test("a channel that hangs holds back only itself: the other channel gets every notification at once")
    func slowChannelIsolated() throws {
        let silent = SilentListener()
        let receiver = WebhookReceiver()
        defer { silent.stop(); receiver.stop() }
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        defer { harness.pipeline.shutdown() }
        _ = try ChannelStore.create(NotificationChannel(kind: "slack", name: "hangs", settings: ["url": "http://127.0.0.1:\(silent.port)/"]), on: harness.connection)
        _ = try ChannelStore.create(NotificationChannel(kind: "slack", name: "works", settings: ["url": receiver.url]), on: harness.connection)
        try Self.fastDeadlines(harness, 1)
        let started = Date()
        harness.sender.send(harness.record(1, sequence: 1))
        // up, late, down: the working channel has all three well before the hanging one's first
        // attempt times out (5 s).
        #expect(waitUntil(4) { receiver.requests.count >= 3 })
        #expect(Date().timeIntervalSince(started) < 4.5)
        #expect(receiver.requests.compactMap { Self.json($0)["text"] as? String } == ["app 1 is up", "app 1 is late", "app 1 is down"])
        #expect(try harness.connection.query("""
            SELECT count(delivered_at) FROM notification_delivery JOIN notification_channel ON notification_channel.id = channel_id WHERE name = 'hangs'
            """) == [["0"]])
    }

    @Test("stopping while a lane waits on a hanging channel: the shutdown takes one timeout, and the rows not yet sent are handed back")
    func stopWhileHanging() throws {
        let silent = SilentListener()
        defer { silent.stop() }
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        _ = try ChannelStore.create(NotificationChannel(kind: "slack", name: "hangs", settings: ["url": "http://127.0.0.1:\(silent.port)/"]), on: harness.connection)
        try Self.fastDeadlines(harness, 1)
        harness.sender.send(harness.record(1, sequence: 1))
        harness.sender.send(harness.record(2, sequence: 1))
        // Both applications' up notifications are claimed into the one lane, which hangs on the first.
        #expect(waitUntil(5) { (try? harness.connection.query("SELECT count(*) FROM notification_delivery WHERE leased_until > now()")) == [["2"]] })
        let started = Date()
        harness.pipeline.shutdown()
        #expect(Date().timeIntervalSince(started) < 8, "one timeout (5 s), not one per claimed row")
        let rows = try harness.connection.query("SELECT attempts, leased_until IS NULL, delivered_at IS NULL FROM notification_delivery ORDER BY id")
        #expect(rows.count >= 2)
        #expect(rows.last == ["0", "t", "t"], "the row not sent is free again, its attempt undone: \(rows)")
    }

    @Test("a collector restart in the middle of deliveries loses nothing and keeps each dedupe id")
    func restartMidDelivery() throws {
        let receiver = WebhookReceiver(statuses: [503, 503])  // the first two attempts fail
        defer { receiver.stop() }
        let secret = "restart-test-secret-0123456789"
        var first: HeartbeatCollector?
        let harness = try Harness {
            $0.monitorPeriodMillis = 200
            $0.webhookURLs = [receiver.url]
            $0.webhookSecret = secret
        }
        first = harness.pipeline
        harness.sender.send(harness.record(1, sequence: 1))
        harness.sender.send(harness.record(2, sequence: 1))
        #expect(waitUntil(6) { receiver.requests.count >= 2 })
        first?.shutdown()
        first = nil
        let owed = try harness.connection.query("SELECT id FROM notification_delivery WHERE delivered_at IS NULL ORDER BY id").map { $0[0] ?? "" }
        #expect(owed.count == 2, "both still owed after the failed attempts")
        // Another collector on the same database takes over (after the backoff).
        var configuration = CollectorConfiguration()
        configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.databaseURL = harness.database.url
        configuration.spoolDirectory = harness.spoolDirectory + "-second"
        configuration.webhookURLs = [receiver.url]
        configuration.webhookSecret = secret
        defer { try? FileManager.default.removeItem(atPath: configuration.spoolDirectory) }
        let second = try HeartbeatCollector(configuration: configuration)
        try second.start()
        defer { second.shutdown() }
        #expect(waitUntil(10) { receiver.requests.filter { $0.answered == 200 }.count >= 2 })
        usleep(500_000)
        let delivered = receiver.requests.filter { $0.answered == 200 }.compactMap { $0.headers["x-heartbeat-delivery"] }
        #expect(delivered.sorted() == owed.sorted(), "the same dedupe ids, each delivered once")
        let failedIDs = receiver.requests.filter { $0.answered == 503 }.compactMap { $0.headers["x-heartbeat-delivery"] }
        #expect(Set(failedIDs) == Set(owed))
        #expect(try harness.connection.query("SELECT count(*) FROM notification_channel") == [["1"]], "the bootstrap updated its channel, not a second one")
    }

    @Test("two collectors delivering one outbox: every notification reaches every channel exactly once, and each closes as sent")
    func twoCollectorsShareTheOutbox() throws {
        let receivers = (0..<3).map { _ in WebhookReceiver() }
        defer { receivers.forEach { $0.stop() } }
        let harness = try Harness(applications: 40) { $0.monitorPeriodMillis = 200 }
        defer { harness.pipeline.shutdown() }
        for (index, receiver) in receivers.enumerated() {
            _ = try ChannelStore.create(NotificationChannel(kind: "slack", name: "chat \(index)", settings: ["url": receiver.url]), on: harness.connection)
        }
        var configuration = CollectorConfiguration()
        configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.databaseURL = harness.database.url
        configuration.spoolDirectory = harness.spoolDirectory + "-second"
        configuration.monitor = false
        defer { try? FileManager.default.removeItem(atPath: configuration.spoolDirectory) }
        let second = try HeartbeatCollector(configuration: configuration)
        try second.start()
        defer { second.shutdown() }
        // 39 enabled applications (index 3 is disabled) come up: 39 notifications × 3 channels.
        for index in 0..<40 where index != 3 { harness.sender.send(harness.record(index, sequence: 1)) }
        #expect(waitUntil(15) { receivers.allSatisfy { $0.requests.count >= 39 } })
        usleep(1_000_000)
        for receiver in receivers {
            let texts = receiver.requests.compactMap { Self.json($0)["text"] as? String }
            #expect(texts.count == 39 && Set(texts).count == 39, "each application's up exactly once: \(texts.count)")
        }
        #expect(waitUntil(3) { (try? harness.connection.query("SELECT state, count(*) FROM notification GROUP BY state")) == [["sent", "39"]] })
        #expect(try harness.connection.query("SELECT sum(deliveries_owed), count(*) FILTER (WHERE delivered_at IS NULL) FROM notification JOIN notification_delivery ON notification_id = notification.id") == [["0", "0"]])
        let first = harness.pipeline.notificationMetrics.delivered.load(ordering: .relaxed)
        let other = second.notificationMetrics.delivered.load(ordering: .relaxed)
        #expect(first + other == 117, "every delivery counted once, by whichever collector sent it (\(first) + \(other))")
    }

    @Test("--self-ping-url: the collector GETs it soon after start and counts it")
    func selfPing() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try Harness { $0.selfPingURL = receiver.url }
        defer { harness.pipeline.shutdown() }
        #expect(waitUntil(5) { harness.pipeline.notificationMetrics.selfPingsSent.load(ordering: .relaxed) >= 1 })
        #expect(receiver.requests.count == 1 && receiver.requests.first?.body.isEmpty == true)
    }
}

/// Abandonment, with a deliverer whose attempts and backoff are short enough to watch.
@Suite("Notification delivery: giving up", .serialized)
struct DeliveryAbandonTests {
    @Test("after the last attempt a delivery is abandoned: its notification is closed as abandoned, the channel and the metrics count it")
    func abandoned() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let channel = try ChannelStore.create(
            NotificationChannel(kind: "slack", name: "gone", settings: ["url": "http://127.0.0.1:1/closed"]), on: connection)
        let id = Int(try connection.query("INSERT INTO application (uuid, name) VALUES ('\(ApplicationUUID.random())', 'a') RETURNING id")[0][0]!)!
        _ = try TransitionWriter.write(
            [PendingTransition(applicationID: id, transition: LivenessTransition(from: .new, to: .up, atMicros: 1_767_225_600_000_000, reason: .heartbeat))],
            on: connection)
        #expect(try connection.query("SELECT state, deliveries_owed FROM notification") == [["pending", "1"]])
        var settings = NotificationDeliverer.Settings()
        settings.maximumAttempts = 3
        settings.backoffBaseMillis = 50
        settings.pollMillis = 20
        let metrics = NotificationMetrics()
        let deliverer = NotificationDeliverer(databaseURL: database.url, settings: settings, metrics: metrics)
        let services = ServiceList([deliverer])
        try services.start()
        defer { services.stop() }
        #expect(waitUntil(10) { metrics.abandoned.load(ordering: .relaxed) == 1 })
        #expect(metrics.failedAttempts.load(ordering: .relaxed) == 3)
        #expect(try connection.query("SELECT attempts, abandoned_at IS NOT NULL, delivered_at IS NULL, last_error LIKE 'transport:%' FROM notification_delivery") == [["3", "t", "t", "t"]])
        #expect(try connection.query("SELECT state, deliveries_owed, deliveries_abandoned FROM notification") == [["abandoned", "0", "1"]])
        #expect(try connection.query("SELECT delivered, failed, abandoned FROM notification_channel WHERE id = \(channel.channel.id)") == [["0", "3", "1"]])
        #expect(metrics.perChannel[channel.channel.id]?.abandoned == 1)
    }

    @Test("retention: closed notifications older than 30 days go with their deliveries; recent and owed ones stay")
    func retention() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("INSERT INTO notification_channel (kind, name, settings, enabled) VALUES ('slack', 'c', '{\"url\": \"http://127.0.0.1:1/\"}', false)")
        try connection.query("""
            INSERT INTO notification (event, application_id, payload, state, updated_at) VALUES
                ('up', 1, '{}', 'sent', now() - interval '31 days'), ('up', 1, '{}', 'abandoned', now() - interval '40 days'),
                ('up', 1, '{}', 'sent', now() - interval '29 days'), ('up', 1, '{}', 'pending', now() - interval '90 days');
            INSERT INTO notification_delivery (notification_id, channel_id, application_id, delivered_at) VALUES (1, 1, 1, now() - interval '31 days');
            """)
        var settings = NotificationDeliverer.Settings()
        settings.pollMillis = 20
        let metrics = NotificationMetrics()
        let services = ServiceList([NotificationDeliverer(databaseURL: database.url, settings: settings, metrics: metrics)])
        try services.start()
        #expect(waitUntil(5) { metrics.notificationsExpired.load(ordering: .relaxed) == 2 })
        services.stop()
        #expect(try connection.query("SELECT id, state FROM notification ORDER BY id") == [["3", "sent"], ["4", "pending"]])
        #expect(try connection.query("SELECT count(*) FROM notification_delivery") == [["0"]], "the deliveries went with their notification")
    }

    @Test("a channel of a kind this build does not know (added by a newer collector) is left for one that does")
    func unknownKindLeftAlone() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("INSERT INTO notification_channel (kind, name, settings) VALUES ('carrier_pigeon', 'future', '{}')")
        let id = Int(try connection.query("INSERT INTO application (uuid, name) VALUES ('\(ApplicationUUID.random())', 'a') RETURNING id")[0][0]!)!
        _ = try TransitionWriter.write(
            [PendingTransition(applicationID: id, transition: LivenessTransition(from: .new, to: .up, atMicros: 1_767_225_600_000_000, reason: .heartbeat))],
            on: connection)
        var settings = NotificationDeliverer.Settings()
        settings.pollMillis = 20
        let metrics = NotificationMetrics()
        let services = ServiceList([NotificationDeliverer(databaseURL: database.url, settings: settings, metrics: metrics)])
        try services.start()
        usleep(500_000)
        services.stop()
        #expect(metrics.queueDepth.load(ordering: .relaxed) == 1, "seen as owed")
        #expect(try connection.query("SELECT attempts, leased_until IS NULL FROM notification_delivery") == [["0", "t"]], "never claimed, no attempt spent")
    }
}
