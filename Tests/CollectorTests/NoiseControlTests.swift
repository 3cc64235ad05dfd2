import Atomics
@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// Thresholds and reminders end to end: a real collector, real PostgreSQL, a real webhook receiver.
@Suite("Noise controls (integration)", .serialized)
struct NoiseControlTests {
    typealias Harness = HeartbeatCollectorTests.Harness
    static let secret = "noise-test-secret-0123456789"

    /// The JSON bodies the receiver took, in order.
    static func bodies(_ receiver: WebhookReceiver) -> [[String: Any]] {
        receiver.requests.filter { $0.answered == 200 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
    }

    /// A collector whose monitor ticks every `periodMillis / 10` and whose one channel is a
    /// webhook to `receiver`, with `configure`'s settings on top.
    static func harness(
        _ receiver: WebhookReceiver, applications: Int = 4, periodMillis: Int = 100, _ configure: (inout CollectorConfiguration) -> Void = { _ in }
    ) throws -> Harness {
        try Harness(applications: applications) {
            $0.monitorPeriodMillis = periodMillis
            $0.webhookURLs = [receiver.url]
            $0.webhookSecret = secret
            configure(&$0)
        }
    }

    static func status(_ harness: Harness, _ index: Int) throws -> String? {
        try harness.connection.query("SELECT status FROM application WHERE id = \(harness.applications[index].id)").first?.first ?? nil
    }

    static func waitUntil(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    @Test("down_after 3: late at the first missed deadline, still late at the second, down at the third, one down notification; up_after 2 needs two on-time records")
    func downAfterThree() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try Self.harness(receiver)
        defer { harness.pipeline.shutdown() }
        let uuid = harness.applications[1].uuid
        _ = try ApplicationStore.update(uuid, .init(intervalMillis: 600, graceMillis: 300, downAfter: 3, upAfter: 2), on: harness.connection)
        usleep(1_200_000)  // the registry reaches the monitor, and its start-up watch is over
        harness.sender.send(harness.record(1, sequence: 1))
        #expect(try Self.waitUntil(5) { try Self.status(harness, 1) == "up" })
        let sentAt = Date()
        // Deadlines after the record: late at 0.6 s, the second miss at 1.2 s + grace, down at 3 × 0.6 + 0.3 = 2.1 s.
        #expect(try Self.waitUntil(3) { try Self.status(harness, 1) == "late" })
        usleep(UInt32(max(0, 1.6 - Date().timeIntervalSince(sentAt)) * 1_000_000))
        #expect(try Self.status(harness, 1) == "late", "two missed deadlines are still late")
        #expect(try Self.waitUntil(4) { try Self.status(harness, 1) == "down" })
        let changes = try harness.connection.query("""
            SELECT from_status, to_status, reason, round(extract(epoch FROM at - (SELECT min(at) FROM status_change WHERE application_id = \(harness.applications[1].id))) * 1000)
            FROM status_change WHERE application_id = \(harness.applications[1].id) ORDER BY id
            """)
        #expect(changes.map { "\($0[0]!)->\($0[1]!):\($0[2]!)" } == ["new->up:heartbeat", "up->late:missed_interval", "late->down:missed_grace"])
        #expect(changes.map { $0[3] } == ["0", "600", "2100"], "late at one interval, down at three intervals + grace")

        // up_after 2: the first record keeps it down, the second on-time one brings it up.
        harness.sender.send(harness.record(1, sequence: 2))
        usleep(400_000)
        #expect(try Self.status(harness, 1) == "down", "one record is not enough with up_after 2")
        harness.sender.send(harness.record(1, sequence: 3))
        #expect(try Self.waitUntil(3) { try Self.status(harness, 1) == "up" })

        #expect(try Self.waitUntil(5) { Self.bodies(receiver).count >= 4 })
        usleep(300_000)
        let events = Self.bodies(receiver).map { "\($0["from"] ?? "")->\($0["to"] ?? "")" }
        #expect(events == ["new->up", "up->late", "late->down", "down->up"])
        #expect(events.filter { $0.hasSuffix("->down") }.count == 1, "one down notification")
    }

    @Test("down_after 2 on fail records: the first fail is late, the second down")
    func downAfterFails() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 100 }
        defer { harness.pipeline.shutdown() }
        _ = try ApplicationStore.update(harness.applications[1].uuid, .init(intervalMillis: 60_000, downAfter: 2), on: harness.connection)
        usleep(1_200_000)
        harness.sender.send(harness.record(1, sequence: 1))
        #expect(try Self.waitUntil(5) { try Self.status(harness, 1) == "up" })
        harness.sender.send(harness.record(1, sequence: 2, kind: .fail))
        #expect(try Self.waitUntil(5) { try Self.status(harness, 1) == "late" })
        harness.sender.send(harness.record(1, sequence: 3, kind: .fail))
        #expect(try Self.waitUntil(5) { try Self.status(harness, 1) == "down" })
        let reasons = try harness.connection.query(
            "SELECT to_status, reason FROM status_change WHERE application_id = \(harness.applications[1].id) ORDER BY id")
        #expect(reasons == [["up", "heartbeat"], ["late", "failed"], ["down", "failed"]])
    }

    @Test("reminders: while down, every period, subject reminder; remind_every_ms 0 overrides the collector's default; none after recovery")
    func remindersWhileDown() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try Self.harness(receiver) { $0.remindEverySeconds = 1 }
        defer { harness.pipeline.shutdown() }
        _ = try ApplicationStore.update(harness.applications[2].uuid, .init(remindEveryMillis: .some(0)), on: harness.connection)
        usleep(1_200_000)
        for index in [1, 2] { harness.sender.send(harness.record(index, sequence: 1, kind: .fail)) }
        #expect(try Self.waitUntil(5) { try Self.status(harness, 1) == "down" && Self.status(harness, 2) == "down" })
        usleep(3_300_000)
        let reminders = Self.bodies(receiver).filter { $0["subject"] as? String == "reminder" }
        #expect((1...3).contains(reminders.count), "one a second at most, the first a second after down: \(reminders.count)")
        #expect(reminders.allSatisfy { $0["app"] as? String == "\(harness.applications[1].uuid)" }, "remind_every_ms 0 never reminds")
        #expect(reminders.allSatisfy { $0["from"] as? String == "down" && $0["to"] as? String == "down" })
        #expect(reminders.allSatisfy { ($0["reason"] as? String)?.hasPrefix("still down since ") == true && $0["down_since"] is String })
        let numbers = reminders.compactMap { $0["reminder"] as? Int }
        #expect(numbers.count == reminders.count && numbers.first.map { $0 >= 1 } != false && zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 },
                "numbered from 1, increasing: \(numbers)")
        harness.sender.send(harness.record(1, sequence: 2))
        #expect(try Self.waitUntil(5) { try Self.status(harness, 1) == "up" })
        usleep(300_000)
        let afterRecovery = Self.bodies(receiver).filter { $0["subject"] as? String == "reminder" }.count
        usleep(2_200_000)
        #expect(Self.bodies(receiver).filter { $0["subject"] as? String == "reminder" }.count == afterRecovery, "no reminder once up")
        let metrics = harness.pipeline.notificationMetrics.remindersQueued.load(ordering: .relaxed)
        #expect(metrics == UInt64(afterRecovery))
    }

    @Test("a reminder is queued once in the cluster: four connections racing queue one per period")
    func remindersOnce() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("""
            INSERT INTO notification_channel (kind, name, settings) VALUES ('webhook', 'hook', '{"url":"http://127.0.0.1:9/x"}');
            INSERT INTO application (uuid, name, status, remind_every_ms) VALUES (gen_random_uuid(), 'down app', 'down', 60000);
            INSERT INTO status_change (application_id, at, from_status, to_status, reason)
                SELECT id, now() - interval '61 seconds', 'up', 'down', 'failed' FROM application;
            """)
        let url = database.url
        let queued = ManagedAtomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            guard let racer = try? PostgresConnection(url: url) else { return queued.wrappingIncrement(by: -100, ordering: .relaxed) }
            for _ in 0..<10 {
                let count = (try? Reminders.queueDue(defaultEveryMillis: 0, on: racer)) ?? -100
                queued.wrappingIncrement(by: count, ordering: .relaxed)
            }
        }
        #expect(queued.load(ordering: .relaxed) == 1)
        #expect(try connection.query("SELECT subject, event, count(*) FROM notification GROUP BY 1, 2") == [["reminder", "down", "1"]])
        #expect(try connection.query("SELECT count(*) FROM notification_delivery") == [["1"]])
        // A period after the last reminder, the next one is due; the default applies where the application has none.
        try connection.query("UPDATE application SET reminded_at = now() - interval '61 seconds'")
        #expect(try Reminders.queueDue(defaultEveryMillis: 0, on: connection) == 1)
        try connection.query("UPDATE application SET reminded_at = now() - interval '2 seconds', remind_every_ms = NULL")
        #expect(try Reminders.queueDue(defaultEveryMillis: 0, on: connection) == 0, "no default: no reminder")
        #expect(try Reminders.queueDue(defaultEveryMillis: 1_000, on: connection) == 1)
        // While its down is held (a silence or an incident), no reminder; once decided, they resume.
        try connection.query("""
            UPDATE application SET reminded_at = now() - interval '2 seconds';
            INSERT INTO notification (event, application_id, status_change_id, payload, state)
                SELECT 'down', application_id, id, '{}', 'held' FROM status_change;
            """)
        #expect(try Reminders.queueDue(defaultEveryMillis: 1_000, on: connection) == 0)
        try connection.query("UPDATE notification SET state = 'silenced' WHERE state = 'held'")
        #expect(try Reminders.queueDue(defaultEveryMillis: 1_000, on: connection) == 1)
    }
}

/// Silences end to end: a real collector, real PostgreSQL, a real webhook receiver.
@Suite("Silences (integration)", .serialized)
struct SilenceIntegrationTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    @Test("while silenced: transitions recorded and marked, nothing sent; at the end the one still down is notified once, the one that recovered never")
    func silenceHoldsThenReleasesOnce() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        // Reminders every second: none may come while the silence holds.
        let harness = try NoiseControlTests.harness(receiver) { $0.remindEverySeconds = 1 }
        defer { harness.pipeline.shutdown() }
        for index in [1, 2] {
            _ = try ApplicationStore.update(harness.applications[index].uuid, .init(intervalMillis: 600, graceMillis: 300), on: harness.connection)
        }
        let now = Harness.now()
        let silence = try SilenceStore.create(
            Silence(id: 0, selector: .applications([harness.applications[1].uuid, harness.applications[2].uuid]),
                    window: .between(fromMicros: now, untilMicros: now + 4_500_000), comment: "planned maintenance"),
            nowMicros: now, on: harness.connection)
        usleep(1_200_000)  // the registry (and the silence) reach the monitor and the delivery worker
        #expect(harness.pipeline.liveStatus().application(harness.applications[1].uuid)?.silenceID == silence.id)

        // Application 1 goes silent after one beat (up, late, down); application 2 fails and recovers.
        harness.sender.send(harness.record(1, sequence: 1))
        harness.sender.send(harness.record(2, sequence: 1, kind: .fail))
        var sequence: UInt64 = 1
        let keepBeating = Date().addingTimeInterval(6)
        while Date() < keepBeating {
            usleep(250_000)
            sequence += 1
            harness.sender.send(harness.record(2, sequence: sequence))
        }
        // Application 2 stops here: a long interval keeps it up for the rest of the test.
        _ = try ApplicationStore.update(harness.applications[2].uuid, .init(intervalMillis: 600_000), on: harness.connection)
        let silenced = try harness.connection.query("SELECT application_id, to_status FROM status_change WHERE silenced ORDER BY id")
            .map { "\($0[0]!):\($0[1]!)" }
        let one = harness.applications[1].id, two = harness.applications[2].id
        #expect(Set(silenced) == Set(["\(one):up", "\(two):down", "\(one):late", "\(one):down", "\(two):up"]) && silenced.count == 5, "\(silenced)")
        // The silence ended 4.5 s in; the release comes within about a second of it (a CI machine
        // whose PostgreSQL other tests keep busy has taken longer: these waits end at the event).
        #expect(try NoiseControlTests.waitUntil(15) { NoiseControlTests.bodies(receiver).count >= 1 })
        usleep(1_500_000)
        let sent = NoiseControlTests.bodies(receiver)
        let transitions = sent.filter { $0["subject"] as? String != "reminder" }
        #expect(transitions.count == 1, "one notification: \(transitions.map { "\($0["app"] ?? ""):\($0["from"] ?? "")->\($0["to"] ?? "")" })")
        #expect(transitions.first?["app"] as? String == "\(harness.applications[1].uuid)" && transitions.first?["to"] as? String == "down")
        #expect(transitions.first?["silenced"] as? Bool == true, "the payload says it happened during a silence")
        #expect(sent.first?["subject"] as? String == nil, "no reminder before the release")
        #expect(sent.allSatisfy { $0["app"] as? String == "\(harness.applications[1].uuid)" })
        // Reminders resume a period after the release, not at once.
        let gap = try harness.connection.query("""
            SELECT extract(epoch FROM min(reminder.created_at) - delivery.created_at) >= 0.9
            FROM notification AS released JOIN notification_delivery AS delivery ON delivery.notification_id = released.id,
                 notification AS reminder
            WHERE released.subject = 'transition' AND released.state IN ('released', 'sent') AND reminder.subject = 'reminder'
            GROUP BY delivery.created_at
            """)
        #expect(gap.isEmpty || gap == [["t"]], "\(gap)")
        // The delivery is marked sent once its POST is answered: wait for that write, then check.
        let states = "SELECT state, count(*) FROM notification WHERE subject = 'transition' GROUP BY state ORDER BY state"
        _ = try NoiseControlTests.waitUntil(10) { try harness.connection.query(states) == [["sent", "1"], ["silenced", "4"]] }
        #expect(try harness.connection.query(states) == [["sent", "1"], ["silenced", "4"]])
        #expect(harness.pipeline.notificationMetrics.heldReleased.load(ordering: .relaxed) == 1)
        #expect(harness.pipeline.notificationMetrics.heldDropped.load(ordering: .relaxed) == 4)
        #expect(harness.pipeline.liveStatus().application(harness.applications[1].uuid)?.silenceID == nil)

        // After the silence, transitions notify as usual.
        harness.sender.send(harness.record(1, sequence: 2))
        #expect(try NoiseControlTests.waitUntil(15) { NoiseControlTests.bodies(receiver).contains { $0["to"] as? String == "up" } })
        let recovery = NoiseControlTests.bodies(receiver).first { $0["to"] as? String == "up" }
        #expect(recovery?["silenced"] as? Bool == false)
    }
}

/// The incident hold end to end: a real collector, real PostgreSQL, a real webhook receiver.
@Suite("Incident hold (integration)", .serialized)
struct IncidentHoldIntegrationTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    @Test("1,000 of 1,200 applications (intervals 2-10 s, random phases) going silent at once: one incident, nothing sent during the hold, then one grouped notification of those still down; 20 lone failures before it each notify")
    func massSilence() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        // 1,201 applications: index 3 is the harness's disabled one.
        let harness = try NoiseControlTests.harness(receiver, applications: 1_201, periodMillis: 200) { $0.incidentHoldSeconds = 15 }
        defer { harness.pipeline.shutdown() }
        let enabled = Array((0..<1_201).filter { $0 != 3 })
        let lone = Array(enabled[0..<20]), silent = Array(enabled[20..<1_020]), survivors = Array(enabled[1_020...])
        var generator = SystemRandomNumberGenerator()
        var interval = [Int: Double]()
        for index in enabled { interval[index] = Double.random(in: 2...10, using: &generator) }
        let cases = enabled.map { "WHEN \(harness.applications[$0].id) THEN \(Int(interval[$0]! * 1_000))" }.joined(separator: " ")
        try harness.connection.query("UPDATE application SET interval_ms = CASE id \(cases) ELSE interval_ms END, grace_ms = 3000")
        try harness.connection.query("UPDATE notification_channel SET filter_events = ARRAY['down']")
        usleep(1_500_000)

        // Arrays by harness index, and a loop that sleeps until the next record is due: the
        // sender must not take the CPU the collector under test needs.
        var next = [Date](repeating: .distantFuture, count: 1_201)
        var sequence = [UInt64](repeating: 0, count: 1_201)
        let start = Date()
        for index in enabled { next[index] = start.addingTimeInterval(Double.random(in: 0..<interval[index]!, using: &generator)) }
        let intervals = (0..<1_201).map { interval[$0] ?? 0 }
        func members(_ indices: [Int]) -> [Bool] {
            var set = [Bool](repeating: false, count: 1_201)
            for index in indices { set[index] = true }
            return set
        }
        /// Sends every record that is due until `end`, for the applications `sending` marks.
        func send(until end: Date, _ sending: [Bool]) {
            while case let now = Date(), now < end {
                var soonest = end
                for index in enabled where sending[index] {
                    if next[index] <= now {
                        sequence[index] += 1
                        harness.sender.send(harness.record(index, sequence: sequence[index]))
                        next[index] = now.addingTimeInterval(intervals[index] * 0.75)  // well inside the interval, as a sender should
                    }
                    soonest = min(soonest, next[index])
                }
                usleep(UInt32(max(0.005, min(0.05, soonest.timeIntervalSince(Date()))) * 1_000_000))
            }
        }
        send(until: start.addingTimeInterval(12), members(enabled))  // every application up, each at its own phase
        // 20 lone failures, outside any incident, then silence from them.
        var sending = members(enabled)
        for index in lone {
            sending[index] = false
            sequence[index] += 1
            harness.sender.send(harness.record(index, sequence: sequence[index], kind: .fail))
            send(until: Date().addingTimeInterval(0.1), sending)
        }
        send(until: Date().addingTimeInterval(3), sending)
        #expect(try NoiseControlTests.waitUntil(5) { NoiseControlTests.bodies(receiver).count >= 20 })
        let loneNotified = NoiseControlTests.bodies(receiver)
        #expect(loneNotified.count == 20 && Set(loneNotified.compactMap { $0["app"] as? String }) == Set(lone.map { "\(harness.applications[$0].uuid)" }))
        let changes = try harness.connection.query(
            "SELECT from_status || '->' || to_status || ':' || reason, count(*), min(at), max(at) FROM status_change GROUP BY 1 ORDER BY 3")
        #expect(try harness.connection.query("SELECT count(*) FROM incident") == [["0"]], "lone failures open no incident: \(changes)")

        // 1,000 go silent at once; the 180 others keep beating.
        let silentSince = Date()
        send(until: silentSince.addingTimeInterval(14), members(survivors))
        let opened = try harness.connection.query("SELECT id, cause, closed_at IS NULL FROM incident")
        #expect(opened.count == 1 && opened.first?[1] == "late_burst" && opened.first?[2] == "t", "\(opened)")
        #expect(harness.pipeline.snapshot().monitor.openIncident?.cause == "late_burst", "the snapshot (/readyz, /metrics, the page) shows it")
        let duringHold = NoiseControlTests.bodies(receiver).count - 20
        #expect(duringHold <= 2, "at most 2 notifications during the hold: \(duringHold)")
        #expect(try harness.connection.query("SELECT count(*) FROM application WHERE status = 'down'") == [["1020"]])
        var held = try harness.connection.query("SELECT count(*) FROM notification WHERE state = 'held' AND incident_id IS NOT NULL")
        #expect(held == [["1000"]], "every silent application's down, held: \(held)")

        // The hold's maximum (15 s): one grouped notification naming the 1,000 still down.
        send(until: silentSince.addingTimeInterval(22), members(survivors))
        #expect(try NoiseControlTests.waitUntil(8) { NoiseControlTests.bodies(receiver).contains { $0["subject"] as? String == "incident" } })
        usleep(1_000_000)
        let bodies = NoiseControlTests.bodies(receiver)
        let grouped = bodies.filter { $0["subject"] as? String == "incident" }
        #expect(grouped.count == 1 && bodies.count == 20 + duringHold + 1, "\(bodies.count) bodies")
        let named = (grouped.first?["applications"] as? [[String: Any]])?.compactMap { $0["app"] as? String } ?? []
        #expect(grouped.first?["count"] as? Int == 1_000 && Set(named) == Set(silent.map { "\(harness.applications[$0].uuid)" }))
        #expect((grouped.first?["incident"] as? [String: Any])?["ending"] as? String == "maximum_hold")
        held = try harness.connection.query("SELECT count(*) FROM notification WHERE state = 'held'")
        #expect(held == [["0"]])
        #expect(try harness.connection.query("SELECT count(*), count(closed_at), min(applications_down) FROM incident") == [["1", "1", "1000"]])
        let monitor = harness.pipeline.snapshot().monitor
        #expect(monitor.incidentsOpened["late_burst"] == 1 && monitor.incidentsClosed == 1 && monitor.incidentApplicationsReleased == 1_000)
        #expect(monitor.openIncident == nil)
    }
}

extension IncidentHoldIntegrationTests {
    @Test("an incident left open by a monitor that stopped is closed as orphaned within seconds, with its grouped release: nothing stays held")
    func orphanedIncident() throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let harness = try NoiseControlTests.harness(receiver)
        defer { harness.pipeline.shutdown() }
        let id = harness.applications[1].id
        // What a stopped collector left behind: an open incident holding application 1's down.
        try harness.connection.query("""
            UPDATE application SET status = 'down' WHERE id = \(id);
            INSERT INTO status_change (application_id, at, from_status, to_status, reason) VALUES (\(id), now(), 'late', 'down', 'missed_grace');
            INSERT INTO incident (opened_at, cause, late_in_window) VALUES (now() - interval '1 minute', 'late_burst', 300);
            INSERT INTO notification (event, application_id, status_change_id, payload, deliveries_owed, state, incident_id)
                SELECT 'down', \(id), (SELECT max(id) FROM status_change), '{}', 1, 'held', (SELECT id FROM incident);
            """)
        #expect(try NoiseControlTests.waitUntil(10) { NoiseControlTests.bodies(receiver).contains { $0["subject"] as? String == "incident" } })
        let grouped = NoiseControlTests.bodies(receiver).first { $0["subject"] as? String == "incident" }
        #expect((grouped?["incident"] as? [String: Any])?["ending"] as? String == "orphaned")
        #expect((grouped?["applications"] as? [[String: Any]])?.compactMap { $0["app"] as? String } == ["\(harness.applications[1].uuid)"])
        #expect(try harness.connection.query("SELECT ending, applications_down FROM incident") == [["orphaned", "1"]])
        #expect(try harness.connection.query("SELECT reminded_at IS NOT NULL FROM application WHERE id = \(id)") == [["t"]],
                "the grouped release starts the reminder period")
        #expect(try harness.connection.query("SELECT count(*) FROM notification WHERE state = 'held'") == [["0"]])
    }
}
