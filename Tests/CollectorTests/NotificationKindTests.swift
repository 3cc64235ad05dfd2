@testable import Collector
import CSHA256
import Foundation
import Testing

/// The pure core of notifications: templates, channel validation, and the message each kind builds
/// (tables; no network). The transport and the outbox are covered by the integration suites.
@Suite("Notification kinds, templates and channels")
struct NotificationKindTests {
    static let facts = NotificationFacts(
        payload: #"{"id": 42, "app": "6f1c2a9e-3b7d-4e0f-9a55-0c1d2e3f4a5b", "name": "nightly-backup", "from": "up", "to": "down", "at": "2026-11-30T03:04:05.123456Z", "reason": "missed_grace", "run_duration_ms": null, "last_heartbeat": "2026-11-30T03:00:00.000000Z", "labels": {"team": "payments"}}"#)!

    static func facts(from: String, to: String) -> NotificationFacts {
        NotificationFacts(
            changeID: 7, applicationUUID: "6f1c2a9e-3b7d-4e0f-9a55-0c1d2e3f4a5b", name: "nightly-backup", previous: from, status: to,
            at: "2026-11-30T03:04:05.123456Z", reason: "heartbeat", labels: ["team": "payments"])
    }

    static func outgoing(_ facts: NotificationFacts, _ channel: NotificationChannel) -> OutgoingNotification {
        OutgoingNotification(facts: facts, channel: channel, deliveryID: "99", applicationURL: "https://hb.example/apps/\(facts.applicationUUID)", nowMicros: 1_764_471_845_000_000)
    }

    static func json(_ message: OutboundMessage?) -> Any? {
        guard case .post(_, _, let body)? = message else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(body))
    }

    @Test("the payload's facts are read back, labels and last heartbeat included")
    func factsFromPayload() {
        let facts = Self.facts
        #expect(facts.changeID == 42 && facts.name == "nightly-backup" && facts.previous == "up" && facts.status == "down")
        #expect(facts.lastHeartbeat == "2026-11-30T03:00:00.000000Z" && facts.labels == ["team": "payments"] && facts.runDurationMillis == nil)
        #expect(NotificationFacts(payload: #"{"id": 1}"#) == nil, "not a notification")
    }

    @Test("templates render every placeholder; an unknown one or an unclosed brace is refused with the known names", arguments: [
        ("{{name}} is {{status}}", "nightly-backup is down"),
        ("{{ previous }}→{{status}} ({{reason}}) at {{since}}", "up→down (missed_grace) at 2026-11-30T03:04:05.123456Z"),
        ("team {{labels.team}}, region '{{labels.region}}'", "team payments, region ''"),
        ("{{uuid}} {{event}} {{last_heartbeat}} {{run_duration_ms}}|{{url}}", "6f1c2a9e-3b7d-4e0f-9a55-0c1d2e3f4a5b down 2026-11-30T03:00:00.000000Z |U"),
        ("no placeholders", "no placeholders"),
    ])
    func templates(source: String, rendered: String) throws {
        #expect(try NotificationTemplate(parsing: source).render(Self.facts, applicationURL: "U") == rendered)
    }

    @Test("template errors", arguments: ["{{nme}}", "{{name", "{{labels.}}", "{{labels.a-b}}"])
    func templateErrors(source: String) {
        #expect(throws: NotificationTemplate.Invalid.self) { try NotificationTemplate(parsing: source) }
        do { _ = try NotificationTemplate(parsing: source) } catch {
            #expect(error.description.contains("known: ") || error.description.contains("closing"))
        }
    }

    @Test("channel validation names the field", arguments: [
        (NotificationChannel(kind: "sms", name: "x"), "kind"),
        (NotificationChannel(kind: "slack", name: "x"), "settings.url"),
        (NotificationChannel(kind: "slack", name: "x", settings: ["url": "ftp://h/x"]), "settings.url"),
        (NotificationChannel(kind: "slack", name: "x", settings: ["url": "https://h/x", "colour": "red"]), "settings.colour"),
        (NotificationChannel(kind: "slack", name: "", settings: ["url": "https://h/x"]), "name"),
        (NotificationChannel(kind: "slack", name: "x", settings: ["url": "https://h/x"], events: ["exploded"]), "events"),
        (NotificationChannel(kind: "slack", name: "x", settings: ["url": "https://h/x"], labelFilter: ["bad key": "v"]), "labels"),
        (NotificationChannel(kind: "slack", name: "x", settings: ["url": "https://h/x"], titleTemplate: "{{nam}}"), "title_template"),
        (NotificationChannel(kind: "webhook", name: "x", settings: ["url": "https://h/x"]), "secret"),
        (NotificationChannel(kind: "webhook", name: "x", settings: ["url": "https://h/x"], secret: "short"), "secret"),
        (NotificationChannel(kind: "webhook", name: "x", settings: ["url": "https://h/x"], secret: String(repeating: "k", count: 16), bodyTemplate: "{{name}}"), "body_template"),
        (NotificationChannel(kind: "pagerduty", name: "x"), "secret"),
        (NotificationChannel(kind: "pagerduty", name: "x", settings: ["severity": "huge"], secret: "key"), "settings.severity"),
        (NotificationChannel(kind: "alertmanager", name: "x", settings: ["url": "http://am:9093", "resend_seconds": "5"]), "settings.resend_seconds"),
        (NotificationChannel(kind: "email", name: "x", settings: ["smtp_url": "http://mail", "from": "a@b.c", "to": "d@e.f"]), "settings.smtp_url"),
        (NotificationChannel(kind: "email", name: "x", settings: ["smtp_url": "smtp://mail:25", "from": "a b@c", "to": "d@e.f"]), "settings.from"),
        (NotificationChannel(kind: "email", name: "x", settings: ["smtp_url": "smtp://mail:25", "from": "a@b.c", "to": "d@e.f, nobody"]), "settings.to"),
        (NotificationChannel(kind: "email", name: "x", settings: ["smtp_url": "smtp://mail:25", "from": "a@b.c", "to": "d@e.f"], secret: "pw"), "settings.username"),
    ])
    func invalidChannels(channel: NotificationChannel, field: String) {
        do {
            try channel.validate()
            Issue.record("accepted: \(channel)")
        } catch {
            #expect(error.field == field, "\(error)")
        }
    }

    @Test("valid channels of every kind pass")
    func validChannels() throws {
        try NotificationChannel(kind: "webhook", name: "w", settings: ["url": "https://h/x"], secret: String(repeating: "k", count: 16)).validate()
        try NotificationChannel(kind: "slack", name: "s", settings: ["url": "https://h/x", "channel": "#ops"], events: ["down", "up"]).validate()
        try NotificationChannel(kind: "alertmanager", name: "a", settings: ["url": "http://127.0.0.1:9093", "watchdog": "false"]).validate()
        try NotificationChannel(kind: "pagerduty", name: "p", secret: "routing").validate()
        try NotificationChannel(
            kind: "email", name: "e", settings: ["smtp_url": "smtp://127.0.0.1:2525", "from": "hb@example.com", "to": "a@example.com, b@example.com", "username": "u"],
            secret: "pw", titleTemplate: "[{{labels.team}}] {{name}} {{status}}").validate()
    }

    @Test("the channel filter: events and labels")
    func filter() {
        let channel = NotificationChannel(kind: "slack", name: "s", events: ["down"], labelFilter: ["team": "payments"])
        #expect(channel.takes(event: "down", labels: ["team": "payments", "tier": "1"]))
        #expect(!channel.takes(event: "up", labels: ["team": "payments"]))
        #expect(!channel.takes(event: "down", labels: ["team": "search"]))
        #expect(!channel.takes(event: "down", labels: [:]))
        var disabled = channel
        disabled.enabled = false
        #expect(!disabled.takes(event: "down", labels: ["team": "payments"]))
    }

    @Test("webhook: the payload byte for byte, signed over timestamp, delivery id and body")
    func webhook() throws {
        let secret = "webhook-secret-0123456789"
        let channel = NotificationChannel(kind: "webhook", name: "w", settings: ["url": "http://127.0.0.1/hook"], secret: secret)
        guard case .post(let url, let headers, let body)? = WebhookKind.message(for: Self.outgoing(Self.facts, channel)) else {
            Issue.record("no POST")
            return
        }
        #expect(url == "http://127.0.0.1/hook")
        #expect(body == Array(Self.facts.payload.utf8))
        #expect(headers.contains("X-Heartbeat-Delivery: 99") && headers.contains("X-Heartbeat-Timestamp: 1764471845"))
        var digest = [UInt8](repeating: 0, count: 32)
        let key = Array(secret.utf8)
        let message = Array("1764471845.99.".utf8) + body
        _ = hb_hmac_sha256_reference(key, key.count, message, message.count, &digest)
        #expect(headers.contains("X-Heartbeat-Signature: v1=" + digest.map { String(format: "%02x", $0) }.joined()))
    }

    @Test("slack: title as text, one attachment coloured by status with the body; a channel override", arguments: [
        ("down", "#a30200"), ("up", "#2eb886"), ("late", "#daa038"), ("paused", "#808080"),
    ])
    func slack(status: String, color: String) {
        let channel = NotificationChannel(
            kind: "slack", name: "s", settings: ["url": "https://hooks.example/T/B/X", "channel": "#ops"], bodyTemplate: "{{name}}: {{previous}} → {{status}}")
        let object = Self.json(SlackKind.message(for: Self.outgoing(Self.facts(from: "new", to: status), channel))) as? [String: Any]
        #expect(object?["text"] as? String == "nightly-backup is \(status)")
        #expect(object?["channel"] as? String == "#ops")
        let attachment = (object?["attachments"] as? [[String: Any]])?.first
        #expect(attachment?["color"] as? String == color)
        #expect(attachment?["text"] as? String == "nightly-backup: new → \(status)")
    }

    @Test("pagerduty: trigger on down, resolve on leaving down, nothing otherwise; one dedup key per application", arguments: [
        ("up", "down", "trigger"), ("late", "down", "trigger"), ("down", "up", "resolve"), ("down", "paused", "resolve"), ("up", "late", nil),
        ("new", "up", nil),
    ] as [(String, String, String?)])
    func pagerDuty(from: String, to: String, action: String?) {
        let channel = NotificationChannel(kind: "pagerduty", name: "p", settings: ["url": "http://127.0.0.1:1/enqueue"], secret: "R0UT1NG")
        let message = PagerDutyKind.message(for: Self.outgoing(Self.facts(from: from, to: to), channel))
        guard let action else {
            #expect(message == nil)
            return
        }
        let event = Self.json(message) as? [String: Any]
        #expect(event?["event_action"] as? String == action)
        #expect(event?["routing_key"] as? String == "R0UT1NG")
        #expect(event?["dedup_key"] as? String == "heartbeat-6f1c2a9e-3b7d-4e0f-9a55-0c1d2e3f4a5b")
        let payload = event?["payload"] as? [String: Any]
        if action == "trigger" {
            #expect(payload?["summary"] as? String == "nightly-backup is down")
            #expect(payload?["severity"] as? String == "critical" && payload?["source"] as? String == "heartbeat")
            #expect(payload?["timestamp"] as? String == "2026-11-30T03:04:05.123456Z")
        } else {
            #expect(payload == nil, "a resolve carries no payload")
        }
    }

    @Test("alertmanager: firing on down, resolved (endsAt, no startsAt) on leaving down; labels merge with ours winning")
    func alertmanager() {
        let channel = NotificationChannel(kind: "alertmanager", name: "a", settings: ["url": "http://127.0.0.1:9093/"])
        var facts = Self.facts(from: "up", to: "down")
        let firing = Self.json(AlertmanagerKind.message(for: Self.outgoing(facts, channel))) as? [[String: Any]]
        let labels = firing?.first?["labels"] as? [String: String]
        #expect(labels == ["alertname": "HeartbeatDown", "application": "nightly-backup", "uuid": facts.applicationUUID, "severity": "critical", "team": "payments"])
        #expect(firing?.first?["startsAt"] as? String == facts.at && firing?.first?["endsAt"] == nil)
        #expect(firing?.first?["generatorURL"] as? String == "https://hb.example/apps/\(facts.applicationUUID)")
        guard case .post(let url, _, _)? = AlertmanagerKind.message(for: Self.outgoing(facts, channel)) else { return }
        #expect(url == "http://127.0.0.1:9093/api/v2/alerts")
        facts = Self.facts(from: "down", to: "up")
        let resolved = Self.json(AlertmanagerKind.message(for: Self.outgoing(facts, channel))) as? [[String: Any]]
        #expect(resolved?.first?["endsAt"] as? String == facts.at && resolved?.first?["startsAt"] == nil)
        #expect(resolved?.first?["labels"] as? [String: String] == labels)
        #expect(AlertmanagerKind.message(for: Self.outgoing(Self.facts(from: "up", to: "late"), channel)) == nil)
    }

    @Test("alertmanager refresh: the watchdog, every down application (ending three periods on) and the recent recoveries (resolved), in posts of at most 500")
    func alertmanagerRefresh() {
        let channel = NotificationChannel(kind: "alertmanager", name: "a", settings: ["url": "http://am", "resend_seconds": "20"])
        let down = (0..<700).map { _ in Self.facts(from: "up", to: "down") }
        let recovered = [Self.facts(from: "down", to: "up")]
        let messages = AlertmanagerKind.refresh(down: down, recovered: recovered, channel: channel, applicationURL: { _ in "" }, nowMicros: 0)
        let lists = messages.compactMap { Self.json($0) as? [[String: Any]] }
        #expect(lists.map(\.count) == [500, 202])
        #expect((lists[0][0]["labels"] as? [String: String])?["alertname"] == "HeartbeatWatchdog")
        #expect(lists[0][1]["endsAt"] as? String == "1970-01-01T00:01:00.000000Z", "firing, valid for 3 × 20 s")
        #expect(lists[1].last?["endsAt"] as? String == "2026-11-30T03:04:05.123456Z", "the recovery, resolved at its time")
        var quiet = channel
        quiet.settings["watchdog"] = "false"
        #expect(AlertmanagerKind.refresh(down: [], recovered: [], channel: quiet, applicationURL: { _ in "" }, nowMicros: 0).isEmpty)
    }

    @Test("email: envelope and headers from the settings, the subject encoded when not ASCII and never broken across lines, CRLF body")
    func email() throws {
        let channel = NotificationChannel(
            kind: "email", name: "e",
            settings: ["smtp_url": "smtp://127.0.0.1:2525", "from": "hb@example.com", "to": "a@example.com, b@example.com", "username": "u", "tls": "required"],
            secret: "pw", titleTemplate: "{{name}} ist {{status}} ✗\nBcc: evil@example.com", bodyTemplate: "line one\nline two")
        guard case .email(let email)? = EmailKind.message(for: Self.outgoing(Self.facts, channel)) else {
            Issue.record("no email")
            return
        }
        #expect(email.serverURL == "smtp://127.0.0.1:2525" && email.from == "hb@example.com" && email.recipients == ["a@example.com", "b@example.com"])
        #expect(email.username == "u" && email.password == "pw" && email.requireTLS)
        let text = String(decoding: email.message, as: UTF8.self)
        let subject = "nightly-backup ist down ✗ Bcc: evil@example.com"
        #expect(text.contains("\r\nSubject: =?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?=\r\n"))
        #expect(!text.contains("\nBcc:"), "a line break in the title cannot add a header")
        #expect(text.contains("\r\nDate: Sun, 30 Nov 2025 03:04:05 +0000\r\n"))
        #expect(text.hasSuffix("\r\n\r\nline one\r\nline two\r\n"))
        #expect(text.contains("Message-ID: <heartbeat-99@example.com>"))
    }

    @Test("mail dates", arguments: [(Int64(0), "Thu, 01 Jan 1970 00:00:00 +0000"), (1_796_156_784, "Tue, 01 Dec 2026 20:26:24 +0000"), (-1, "Wed, 31 Dec 1969 23:59:59 +0000")])
    func mailDates(seconds: Int64, text: String) {
        #expect(MailDate.rfc5322(seconds: seconds) == text)
    }

    @Test("labels: Prometheus-style keys, bounded values and count")
    func labels() {
        #expect(ApplicationLabels.problem(["team": "payments", "_x9": ""]) == nil)
        #expect(ApplicationLabels.problem(["9lives": "x"]) != nil)
        #expect(ApplicationLabels.problem(["a.b": "x"]) != nil)
        #expect(ApplicationLabels.problem(["k": String(repeating: "v", count: 201)]) != nil)
        #expect(ApplicationLabels.problem(Dictionary(uniqueKeysWithValues: (0..<33).map { ("k\($0)", "v") })) != nil)
        #expect(ApplicationLabels.decode(ApplicationLabels.encode(["b": "2", "a": "1"])) == ["a": "1", "b": "2"])
    }
}
