import CSHA256
@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// Webhook delivery through the notification outbox (a `--webhook-url` bootstrap channel), against
/// real PostgreSQL and a real HTTP receiver: each transition once, signed, retried after a failure.
@Suite("Webhooks (integration)", .serialized)
struct WebhookTests {
    typealias Harness = HeartbeatCollectorTests.Harness
    static let secret = "webhook-test-secret-0123456789"

    /// HMAC-SHA256 of "<timestamp>.<delivery>.<body>" under the test secret, as the header carries it
    /// (computed with the reference HMAC, not the code under test).
    static func expectedSignature(_ body: [UInt8], timestamp: String, delivery: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let key = Array(secret.utf8)
        let message = Array("\(timestamp).\(delivery).".utf8) + body
        _ = hb_hmac_sha256_reference(key, key.count, message, message.count, &digest)
        return "v1=" + hex(digest)
    }

    /// A collector sweeping every 200 ms whose webhook channels are `webhookURLs`, signed with the test secret.
    static func harness(webhookURLs: [String]) throws -> Harness {
        try Harness {
            $0.monitorPeriodMillis = 200
            $0.webhookURLs = webhookURLs
            $0.webhookSecret = Self.secret
        }
    }

    @Test("each transition reaches the receiver once, signed, in order; a failed POST is retried; the outbox empties")
    func deliveredOnceSigned() throws {
        let receiver = WebhookReceiver(statuses: [500])  // the first POST fails
        defer { receiver.stop() }
        let harness = try Self.harness(webhookURLs: [receiver.url])
        defer { harness.pipeline.shutdown() }
        try harness.connection.query("UPDATE application SET interval_ms = 500, grace_ms = 500")
        usleep(600_000)
        for sequence in 1...3 {
            harness.sender.send(harness.record(1, sequence: UInt64(sequence)))
            usleep(100_000)
        }
        // new->up, up->late, late->down: three notifications, the first after one retry. The wait
        // ends at the third; its bound is for a CI machine whose PostgreSQL other tests keep busy
        // (one run saw a single POST in 12 s).
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, receiver.requests.filter({ $0.answered == 200 }).count < 3 { usleep(50_000) }
        usleep(500_000)  // room for a duplicate, if one were coming
        let requests = receiver.requests
        let delivered = requests.filter { $0.answered == 200 }
        #expect(requests.count == 4, "3 transitions + 1 retry, got \(requests.count)")
        #expect(delivered.count == 3)
        #expect(Set(delivered.compactMap { $0.headers["x-heartbeat-delivery"] }).count == 3, "distinct deliveries")
        // A failure above must fail the test, not crash the whole run on the index below.
        try #require(requests.count >= 2)
        #expect(requests[0].headers["x-heartbeat-delivery"] == requests[1].headers["x-heartbeat-delivery"], "the failed one is sent again")
        for request in requests {
            let timestamp = request.headers["x-heartbeat-timestamp"] ?? ""
            let delivery = request.headers["x-heartbeat-delivery"] ?? ""
            #expect(request.headers["x-heartbeat-signature"] == Self.expectedSignature(request.body, timestamp: timestamp, delivery: delivery))
            // The timestamp is when the attempt was signed: a receiver's freshness check passes.
            #expect(abs((Int64(timestamp) ?? 0) - Int64(Date().timeIntervalSince1970)) < 60)
            // A signature over the body alone (the old scheme) no longer matches.
            #expect(request.headers["x-heartbeat-signature"] != Self.expectedSignature(request.body, timestamp: "", delivery: ""))
            #expect(request.headers["content-type"] == "application/json")
        }
        let bodies = delivered.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
        #expect(bodies.map { "\($0["from"] ?? "")->\($0["to"] ?? "")" } == ["new->up", "up->late", "late->down"])
        #expect(bodies.allSatisfy { ($0["app"] as? String) == "\(harness.applications[1].uuid)" })
        let outbox = try harness.connection.query(
            "SELECT count(*), count(delivered_at), sum(attempts) FROM notification_delivery")
        #expect(outbox == [["3", "3", "4"]])
        #expect(try harness.connection.query("SELECT state, count(*) FROM notification GROUP BY state") == [["sent", "3"]])
        #expect(try harness.connection.query("SELECT delivered, failed, abandoned, last_error LIKE 'HTTP 500%' FROM notification_channel") == [["3", "1", "0", "t"]])
        let metrics = harness.pipeline.notificationMetrics
        let (sent, failed) = (metrics.delivered.load(ordering: .relaxed), metrics.failedAttempts.load(ordering: .relaxed))
        #expect(sent == 3 && failed == 1)
    }

    @Test("a receiver that is down: the row waits with its error, due again later, and the failure is counted")
    func receiverDown() throws {
        let harness = try Self.harness(webhookURLs: ["http://127.0.0.1:1/unreachable"])
        defer { harness.pipeline.shutdown() }
        harness.sender.send(harness.record(1, sequence: 1))
        let deadline = Date().addingTimeInterval(6)
        while Date() < deadline, harness.pipeline.notificationMetrics.failedAttempts.load(ordering: .relaxed) == 0 { usleep(50_000) }
        let failed = harness.pipeline.notificationMetrics.failedAttempts.load(ordering: .relaxed)
        #expect(failed >= 1)
        let row = try harness.connection.query("SELECT delivered_at IS NULL, last_error LIKE 'transport:%', next_attempt_at > now() FROM notification_delivery")
        #expect(row == [["t", "t", "t"]], "kept, with the error, due again later")
        // The depth is a gauge counted every poll: it shows the owed row soon after.
        let depthDeadline = Date().addingTimeInterval(3)
        while Date() < depthDeadline, harness.pipeline.notificationMetrics.queueDepth.load(ordering: .relaxed) != 1 { usleep(50_000) }
        let depth = harness.pipeline.notificationMetrics.queueDepth.load(ordering: .relaxed)
        #expect(depth == 1)
    }

    @Test("a lane whose mark PostgreSQL refuses tries again: marked within seconds once it is taken, sent once, and the next notifications follow")
    func refusedMarkTriedAgain() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try Self.harness(webhookURLs: [receiver.url])
        defer { harness.pipeline.shutdown() }
        // PostgreSQL refuses every mark of a delivery as delivered until the trigger is dropped.
        try harness.connection.query("""
            CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'marks refused by the test'; END $$;
            CREATE TRIGGER refuse_mark BEFORE UPDATE ON notification_delivery
                FOR EACH ROW WHEN (NEW.delivered_at IS NOT NULL) EXECUTE FUNCTION refuse_mark();
            UPDATE application SET interval_ms = 500, grace_ms = 500;
            """)
        usleep(600_000)
        harness.sender.send(harness.record(1, sequence: 1))  // new -> up, then (no more beats) late and down
        let metrics = harness.pipeline.notificationMetrics
        var deadline = Date().addingTimeInterval(15)
        while Date() < deadline, receiver.requests.isEmpty || metrics.databaseFailures.load(ordering: .relaxed) < 3 { usleep(50_000) }
        #expect(receiver.requests.count == 1)
        #expect(metrics.databaseFailures.load(ordering: .relaxed) >= 3, "the lane tried again")
        #expect(try harness.connection.query("SELECT count(delivered_at), bool_and(leased_until > now()) FROM notification_delivery WHERE attempts > 0") == [["0", "t"]])
        try harness.connection.query("DROP TRIGGER refuse_mark ON notification_delivery")
        // Marked on the next try (at most 2 s later); the late and down notifications, held behind
        // it (order per application and channel), follow. Without tries again they would wait for
        // the 60 s lease, and the first would be sent twice.
        deadline = Date().addingTimeInterval(15)
        let outbox = "SELECT count(*), count(delivered_at), sum(attempts) FROM notification_delivery"
        while Date() < deadline, try harness.connection.query(outbox) != [["3", "3", "3"]] { usleep(50_000) }
        #expect(try harness.connection.query(outbox) == [["3", "3", "3"]])
        let bodies = receiver.requests.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
        #expect(bodies.map { "\($0["from"] ?? "")->\($0["to"] ?? "")" } == ["new->up", "up->late", "late->down"], "each once")
        #expect(try harness.connection.query("SELECT state, count(*) FROM notification GROUP BY state") == [["sent", "3"]])
        #expect(try harness.connection.query("SELECT delivered, failed FROM notification_channel") == [["3", "0"]], "counted once")
    }

    @Test("marking outcomes changes only rows the lane still holds: the same marks tried again, or a row another worker claimed since, change nothing")
    func markOnlyHeldRows() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try ChannelStore.bootstrapWebhooks(["http://127.0.0.1:9/hook"], secret: Self.secret, on: connection)
        try connection.query("""
            INSERT INTO application (uuid, name) VALUES ('\(ApplicationUUID.random())', 'a'), ('\(ApplicationUUID.random())', 'b');
            INSERT INTO status_change (application_id, at, from_status, to_status, reason) VALUES (1, now(), 'new', 'up', 'heartbeat'), (2, now(), 'new', 'up', 'heartbeat');
            INSERT INTO notification (event, application_id, status_change_id, payload, deliveries_owed) VALUES ('up', 1, 1, '{}', 1), ('up', 2, 2, '{}', 1);
            -- Row 1 is held by the lane (its first attempt); row 2's lease ran out and another worker claimed it again.
            INSERT INTO notification_delivery (notification_id, channel_id, application_id, attempts, leased_until) VALUES
                (1, 1, 1, 1, now() + interval '60 seconds'), (2, 1, 2, 2, now() + interval '60 seconds');
            """)
        let channel = try #require(try connection.execute("SELECT \(ChannelStore.columns) FROM notification_channel").rows.first.map(ChannelStore.channel))
        let deliverer = NotificationDeliverer(databaseURL: database.url, settings: .init(), metrics: NotificationMetrics())
        let outcomes: [(NotificationDeliverer.Claimed, String?)] = [1, 2].map {
            (NotificationDeliverer.Claimed(deliveryID: $0, notificationID: $0, attempts: 1, payload: "{}", channel: channel), nil)
        }
        try deliverer.record(outcomes, skipped: [], on: connection)
        try deliverer.record(outcomes, skipped: [], on: connection)  // as after a commit whose answer was lost
        #expect(try connection.query("SELECT id, delivered_at IS NOT NULL, leased_until IS NULL FROM notification_delivery ORDER BY id")
            == [["1", "t", "t"], ["2", "f", "f"]])
        #expect(try connection.query("SELECT id, state, deliveries_owed FROM notification ORDER BY id") == [["1", "sent", "0"], ["2", "pending", "1"]])
        #expect(try connection.query("SELECT delivered FROM notification_channel") == [["2"]], "the lane's messages counted once")
    }

    @Test("lanes hand their PostgreSQL connections back: eight channels sent to at once leave none open once idle")
    func laneConnectionsHandedBack() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try Self.harness(webhookURLs: (1...8).map { "\(receiver.url)?channel=\($0)" })
        defer { harness.pipeline.shutdown() }
        // A lane connection's last statement is the lane's mark of its outcomes.
        let laneConnections = { () throws -> Int in
            Int(try harness.connection.query("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'WITH outcome AS%'
                """)[0][0] ?? "") ?? -1
        }
        harness.sender.send(harness.record(1, sequence: 1))  // new -> up, to all eight channels
        let deadline = Date().addingTimeInterval(15)
        let delivered = "SELECT count(delivered_at) FROM notification_delivery"
        while Date() < deadline, try harness.connection.query(delivered) != [["8"]] { usleep(50_000) }
        #expect(try harness.connection.query(delivered) == [["8"]])
        #expect(Set(receiver.requests.compactMap { $0.headers["x-heartbeat-delivery"] }).count == 8)
        let handedBack = try laneConnections()
        #expect((1...8).contains(handedBack), "the lanes' connections are idle, not yet closed: \(handedBack)")
        // One per channel was kept for ever (8); handed back ones are closed once idle for their time.
        usleep(UInt32((NotificationDeliverer.laneConnectionIdleSeconds + 1) * 1_000_000))
        #expect(try laneConnections() == 0)
    }

    @Test("webhook URLs without a secret are refused at start")
    func secretRequired() {
        var configuration = CollectorConfiguration()
        configuration.databaseURL = "postgresql://x@127.0.0.1/x"
        configuration.webhookURLs = ["http://127.0.0.1:9/hook"]
        #expect(throws: CollectorConfiguration.InvalidSetting.self) { try configuration.validate() }
        configuration.webhookSecret = Self.secret
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.webhookURLs = ["ftp://127.0.0.1/hook"]
        #expect(throws: CollectorConfiguration.InvalidSetting.self) { try configuration.validate() }
    }

    @Test("a row claimed by a worker that died is sent once its lease runs out; a live lease is respected")
    func expiredLease() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        // Two notifications another collector claimed before dying: one lease already over, one
        // with 2 s left (that worker might still be sending it).
        try ChannelStore.bootstrapWebhooks([receiver.url], secret: Self.secret, on: connection)
        let uuids = [ApplicationUUID.random(), ApplicationUUID.random()]
        let payload = { (id: Int, name: String) in
            #"{"id": \#(id), "app": "\#(uuids[id - 1])", "name": "\#(name)", "from": "new", "to": "up", "at": "2026-12-01T00:00:00.000000Z", "reason": "heartbeat"}"#
        }
        try connection.query("""
            INSERT INTO application (uuid, name) VALUES ('\(ApplicationUUID.random())', 'a'), ('\(ApplicationUUID.random())', 'b');
            INSERT INTO status_change (application_id, at, from_status, to_status, reason) VALUES (1, now(), 'new', 'up', 'heartbeat'), (2, now(), 'new', 'up', 'heartbeat');
            INSERT INTO notification (event, application_id, status_change_id, payload, deliveries_owed) VALUES ('up', 1, 1, '\(payload(1, "a"))', 1), ('up', 2, 2, '\(payload(2, "b"))', 1);
            INSERT INTO notification_delivery (notification_id, channel_id, application_id, attempts, leased_until) VALUES
                (1, 1, 1, 1, now() - interval '1 second'),
                (2, 1, 2, 1, now() + interval '2 seconds');
            """)
        var configuration = CollectorConfiguration()
        configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.databaseURL = database.url
        configuration.spoolDirectory = NSTemporaryDirectory() + "heartbeat-spool-\(UUID().uuidString)"
        configuration.webhookURLs = [receiver.url]
        configuration.webhookSecret = Self.secret
        defer { try? FileManager.default.removeItem(atPath: configuration.spoolDirectory) }
        let pipeline = try HeartbeatCollector(configuration: configuration)
        try pipeline.start()
        defer { pipeline.shutdown() }
        usleep(1_000_000)
        #expect(receiver.requests.map { String(decoding: $0.body, as: UTF8.self) } == [payload(1, "a")], "only the expired lease is taken over at first")
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, receiver.requests.count < 2 { usleep(50_000) }
        usleep(500_000)
        #expect(receiver.requests.map { String(decoding: $0.body, as: UTF8.self) }.map { $0.contains(#""name": "a""#) } == [true, false], "each sent once")
        #expect(try connection.query("SELECT notification_id, attempts, delivered_at IS NOT NULL FROM notification_delivery ORDER BY id") == [["1", "2", "t"], ["2", "2", "t"]])
    }

    @Test("URLs with quotes, backslashes and commas reach the outbox verbatim")
    func urlQuoting() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        let urls = ["http://127.0.0.1/a'b", "http://127.0.0.1/c\\\"d", "http://127.0.0.1/e,f{g}", "http://127.0.0.1/plain"]
        let rows = try connection.execute("SELECT unnest($1::text[]) AS url", [PostgresConnection.arrayParameter(urls)]).rows.compactMap { $0["url"] }
        #expect(rows == urls)
        #expect(try connection.query("SELECT cardinality($1::text[])", PostgresConnection.arrayParameter([])) == [["0"]])
    }

    @Test("an auto-registered application's transitions are recorded without notifications until an operator names it")
    func autoRegisteredAreSilent() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let uuid = ApplicationUUID.random()
        let id = Int(try connection.query("INSERT INTO application (uuid, name, auto_registered) VALUES ('\(uuid)', 'auto-registered', true) RETURNING id")[0][0]!)!
        try ChannelStore.bootstrapWebhooks(["http://127.0.0.1:1/hook"], secret: Self.secret, on: connection)
        let first = try TransitionWriter.write(
            [PendingTransition(applicationID: id, transition: LivenessTransition(from: .new, to: .up, atMicros: 1_767_225_600_000_000, reason: .heartbeat))], render: true, on: connection)
        #expect(first.count == 1 && first.first?.payload == nil, "recorded, but nothing to publish")
        #expect(try connection.query("SELECT count(*) FROM notification_delivery") == [["0"]])
        // An operator names it: from now on it notifies like any other.
        _ = try ApplicationStore.update(uuid, ApplicationStore.Changes(name: "billing worker"), on: connection)
        #expect(try connection.query("SELECT auto_registered FROM application WHERE id = \(id)") == [["f"]])
        let second = try TransitionWriter.write(
            [PendingTransition(applicationID: id, transition: LivenessTransition(from: .up, to: .late, atMicros: 1_767_225_601_000_000, reason: .missedInterval))], render: true, on: connection)
        #expect(second.first?.payload?.contains("billing worker") == true)
        #expect(try connection.query("SELECT count(*) FROM notification_delivery") == [["1"]])
    }
}
