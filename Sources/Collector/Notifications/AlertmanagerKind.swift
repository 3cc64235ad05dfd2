/// `alertmanager`: Prometheus Alertmanager's `POST /api/v2/alerts`. An application going `down` is
/// a firing alert `HeartbeatDown` (labels: the application's labels, then `alertname`,
/// `application`, `uuid`, `severity`); leaving `down` resolves it (`endsAt`). Alertmanager
/// resolves an alert it is not told about again within its `resolve_timeout`, so the firing
/// alerts are re-sent every `resend_seconds` (default 60), with the always-firing
/// `HeartbeatWatchdog` (a dead man's switch: when it stops, the collectors are gone).
public enum AlertmanagerKind: RefreshingNotificationKind {
    public static let name = "alertmanager"
    /// `url`: Alertmanager's base URL (`http://alertmanager:9093`).
    public static let requiredSettings = ["url"]
    /// `severity` label (default `critical`); `resend_seconds` (10-3600); `watchdog` (`true`/`false`).
    public static let optionalSettings = ["severity", "resend_seconds", "watchdog"]
    public static let defaultTitle = try! NotificationTemplate(parsing: "{{name}} is {{status}}")
    public static let downAlert = "HeartbeatDown"
    public static let watchdogAlert = "HeartbeatWatchdog"

    public static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid) {
        try KindSupport.requireHTTPURL(channel, "url")
        if let seconds = channel.settings["resend_seconds"], !(Int(seconds).map { (10...3_600).contains($0) } ?? false) {
            throw NotificationChannel.Invalid(field: "settings.resend_seconds", message: "a whole number of seconds from 10 to 3600")
        }
        if let watchdog = channel.settings["watchdog"], !["true", "false"].contains(watchdog) {
            throw NotificationChannel.Invalid(field: "settings.watchdog", message: "true or false")
        }
    }

    static func endpoint(_ channel: NotificationChannel) -> String {
        var base = channel.settings["url"] ?? ""
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/api/v2/alerts"
    }

    /// The alert's labels: the application's own, then ours (which win on a clash).
    static func labels(_ facts: NotificationFacts, _ channel: NotificationChannel) -> [String: String] {
        facts.labels.merging(
            ["alertname": downAlert, "application": facts.name, "uuid": facts.applicationUUID, "severity": channel.settings["severity"] ?? "critical"]
        ) { _, ours in ours }
    }

    static func firing(_ facts: NotificationFacts, _ channel: NotificationChannel, title: String, body: String, url: String) -> [String: Any] {
        var alert: [String: Any] = [
            "labels": labels(facts, channel), "annotations": ["summary": title, "description": body], "startsAt": facts.at,
        ]
        if !url.isEmpty { alert["generatorURL"] = url }
        return alert
    }

    public static func message(for notification: OutgoingNotification) -> OutboundMessage? {
        let facts = notification.facts
        let channel = notification.channel
        if facts.status == "down" {
            return KindSupport.postJSON(
                endpoint(channel), [firing(facts, channel, title: notification.title, body: notification.body, url: notification.applicationURL)])
        }
        guard facts.previous == "down" else { return nil }
        // Resolved: the same labels, ended when the application recovered. No startsAt:
        // Alertmanager keeps the firing alert's.
        return KindSupport.postJSON(endpoint(channel), [[
            "labels": labels(facts, channel), "annotations": ["summary": notification.title, "description": notification.body],
            "endsAt": facts.at,
        ] as [String: Any]])
    }

    public static func refreshSeconds(_ channel: NotificationChannel) -> Int { Int(channel.settings["resend_seconds"] ?? "") ?? 60 }

    public static func refresh(
        down: [NotificationFacts], recovered: [NotificationFacts], channel: NotificationChannel, applicationURL: (String) -> String,
        nowMicros: Int64
    ) -> [OutboundMessage] {
        var alerts = [[String: Any]]()
        // A re-sent firing alert ends by itself three periods on unless re-sent again, as
        // Prometheus's own are: a re-send that raced a recovery cannot keep an alert open for
        // Alertmanager's whole resolve timeout, and the resolved alerts below close it sooner.
        let validUntil = KindSupport.rfc3339(micros: nowMicros + Int64(3 * refreshSeconds(channel)) * 1_000_000)
        if channel.settings["watchdog"] ?? "true" == "true" {
            alerts.append([
                "labels": ["alertname": watchdogAlert, "severity": "none"],
                "annotations": ["summary": "The heartbeat collectors are running: this alert always fires, and stops when they do."],
                "startsAt": KindSupport.rfc3339(micros: nowMicros), "endsAt": validUntil,
            ])
        }
        for facts in down {
            let url = applicationURL(facts.applicationUUID)
            var alert = firing(
                facts, channel, title: channel.title.render(facts, applicationURL: url), body: channel.body.render(facts, applicationURL: url), url: url)
            alert["endsAt"] = validUntil
            alerts.append(alert)
        }
        for facts in recovered {
            let url = applicationURL(facts.applicationUUID)
            alerts.append([
                "labels": labels(facts, channel),
                "annotations": ["summary": channel.title.render(facts, applicationURL: url), "description": channel.body.render(facts, applicationURL: url)],
                "endsAt": facts.at,
            ])
        }
        // Alertmanager takes a list; a few hundred alerts per POST keeps each request small.
        return stride(from: 0, to: alerts.count, by: 500).map { start in
            KindSupport.postJSON(endpoint(channel), Array(alerts[start..<min(start + 500, alerts.count)]))
        }
    }
}
