@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Loss-aware delivery: delivery_degraded and its recovery", .serialized)
struct DeliveryHealthTests {
    static let secret = "delivery-test-secret-0123456789"

    func loss(expected: Int64, lost: Int64) -> RollupLoss {
        RollupLoss(expected: expected, received: expected - lost, lost: lost)
    }

    @Test("the decision: past the threshold with enough expected degrades; at most half of it recovers; too few expected keeps the mark")
    func decisions() {
        let health = DeliveryHealth(threshold: 0.2, minimumExpected: 20)
        let figures: [Int: RollupLoss] = [
            1: loss(expected: 100, lost: 21),  // 21 %: degrade
            2: loss(expected: 100, lost: 20),  // exactly the threshold: not past it
            3: loss(expected: 19, lost: 19),  // too few expected
            4: loss(expected: 100, lost: 15),  // degraded, 15 % > 10 %: stays
            5: loss(expected: 100, lost: 10),  // degraded, 10 %: recovers
            6: loss(expected: 5, lost: 0),  // degraded, too few expected: stays
        ]
        let actions = health.decide(loss: figures, degraded: [4, 5, 6, 7])
        #expect(actions == [.degrade(applicationID: 1, loss: figures[1]!), .recover(applicationID: 5, loss: figures[5]!)])
        #expect(health.decide(loss: [:], degraded: [1]).isEmpty, "silent: no figures, no change")
    }

    @Test("the next check is 15 s into the next minute")
    func schedule() {
        let minute: Int64 = 29_935_440 * 60_000_000
        #expect(DeliveryMonitor.nextCheck(afterMicros: minute) == minute + 15_000_000)
        #expect(DeliveryMonitor.nextCheck(afterMicros: minute + 15_000_000) == minute + 75_000_000)
        #expect(DeliveryMonitor.nextCheck(afterMicros: minute + 59_000_000) == minute + 75_000_000)
    }

    /// One rollup row per minute of `minutes` for application `id`, instance 1: `count`
    /// sequenced records covering `span` numbers from `first`.
    func insertMinute(_ connection: PostgresConnection, id: Int, minute: Int64, first: Int64, span: Int64, count: Int64) throws {
        try connection.execute("""
            INSERT INTO heartbeat_rollup_minute (application_id, instance, minute, beats, starts, successes, fails, stops, sequenced,
                                                 seq_min, seq_max, first_at, last_at, delay_min_us, delay_max_us)
            VALUES ($1::integer, 1, to_timestamp($2::bigint * 60), $3::integer, 0, 0, 0, 0, $3::integer, $4::bigint, $5::bigint,
                    to_timestamp($2::bigint * 60), to_timestamp($2::bigint * 60 + 59), 100, 900)
            """, [String(id), String(minute), String(count), String(first), String(first + span - 1)])
    }

    @Test("recorded once across two collectors, notified only to channels that name the event, then recovered once; delivered by a real webhook")
    func recordedOnce() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let now = WallClock.nowMicros()
        try PartitionMaintainer(table: .rollupMinute).maintain(connection, nowMicros: now)
        let uuid = ApplicationUUID.random()
        let id = Int(try connection.query("INSERT INTO application (uuid, name) VALUES ('\(uuid)', 'edge agent') RETURNING id")[0][0]!)!
        let subscribed = WebhookReceiver()
        let everything = WebhookReceiver()
        defer {
            subscribed.stop()
            everything.stop()
        }
        _ = try ChannelStore.create(
            NotificationChannel(
                kind: WebhookKind.name, name: "path alerts", settings: ["url": subscribed.url], secret: Self.secret,
                events: DeliveryEvent.allCases.map(\.rawValue)),
            on: connection)
        try ChannelStore.bootstrapWebhooks([everything.url], secret: Self.secret, on: connection)

        // Five minutes before the current one, each 60 numbers of which 42 arrived: 30 % lost.
        let minute = now / 60_000_000
        for offset in 1...5 {
            try insertMinute(connection, id: id, minute: minute - Int64(offset), first: 1 + Int64(5 - offset) * 60, span: 60, count: 42)
        }
        let collectors = (0..<2).map { _ in DeliveryMonitor(databaseURL: database.url, health: DeliveryHealth(), isLeader: { true }) }
        let first = try collectors.map { try $0.check(nowMicros: now, on: try database.connect()) }
        #expect(first.map(\.count).sorted() == [0, 1], "one of the two records it: \(first)")
        #expect(try collectors[0].check(nowMicros: now, on: connection).isEmpty, "already degraded")
        #expect(try connection.query("SELECT event, records_expected, records_lost FROM delivery_event") == [["degraded", "300", "90"]])
        #expect(try connection.query("SELECT delivery_degraded FROM application") == [["t"]])
        #expect(try connection.query("SELECT subject, event FROM notification") == [["delivery", "delivery_degraded"]])
        #expect(try connection.query("SELECT count(*) FROM notification_delivery") == [["1"]], "the all-events channel takes none")

        // The next five minutes deliver everything: recovered, once.
        let later = now + 5 * 60_000_000
        for offset in 0..<5 {
            try insertMinute(connection, id: id, minute: minute + Int64(offset), first: 301 + Int64(offset) * 60, span: 60, count: 60)
        }
        let recovered = try collectors.map { try $0.check(nowMicros: later, on: try database.connect()) }
        #expect(recovered.map(\.count).sorted() == [0, 1])
        #expect(try collectors[1].check(nowMicros: later, on: connection).isEmpty)
        #expect(try connection.query("SELECT event, records_lost FROM delivery_event ORDER BY id") == [["degraded", "90"], ["recovered", "0"]])

        // A collector delivers the outbox: the subscribed webhook gets both, in order.
        var configuration = CollectorConfiguration()
        configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.databaseURL = database.url
        configuration.spoolDirectory = NSTemporaryDirectory() + "heartbeat-spool-\(UUID().uuidString)"
        configuration.webhookURLs = [everything.url]
        configuration.webhookSecret = Self.secret
        defer { try? FileManager.default.removeItem(atPath: configuration.spoolDirectory) }
        let pipeline = try HeartbeatCollector(configuration: configuration)
        try pipeline.start()
        defer { pipeline.shutdown() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, subscribed.requests.count < 2 { usleep(50_000) }
        usleep(300_000)
        let bodies = subscribed.requests.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
        #expect(bodies.map { $0["to"] as? String } == ["delivery_degraded", "delivery_recovered"])
        #expect(bodies.first?["records_lost"] as? Int == 90 && bodies.first?["records_expected"] as? Int == 300)
        #expect((bodies.first?["reason"] as? String)?.contains("dropping packets") == true)
        #expect(bodies.first?["app"] as? String == "\(uuid)" && bodies.first?["status"] as? String == "new")
        #expect(everything.requests.isEmpty)
    }

    @Test("a channel takes delivery events only when its events list names them")
    func channelRule() {
        let all = NotificationChannel(kind: "webhook", name: "all")
        let named = NotificationChannel(kind: "webhook", name: "named", events: ["down", "delivery_degraded"])
        #expect(all.takes(event: "down", labels: [:]) && !all.takes(event: "delivery_degraded", labels: [:]))
        #expect(named.takes(event: "delivery_degraded", labels: [:]) && !named.takes(event: "delivery_recovered", labels: [:]))
        #expect(NotificationChannel.knownEvents.contains("delivery_recovered"))
    }
}
