/// `pagerduty`: PagerDuty Events API v2. Going `down` triggers an alert and leaving `down` resolves
/// it, under one `dedup_key` per application (`heartbeat-<uuid>`), so PagerDuty keeps one incident
/// per application; other transitions send nothing. The secret is the integration's routing key.
public enum PagerDutyKind: NotificationKind {
    public static let name = "pagerduty"
    public static let requiredSettings = [String]()
    /// `url` (default PagerDuty's own), `severity` of a trigger (default `critical`), `source`.
    public static let optionalSettings = ["url", "severity", "source"]
    public static let secretRequired = true
    public static let secretMeaning = "the integration's routing key (Events API v2)"
    public static let defaultURL = "https://events.pagerduty.com/v2/enqueue"
    static let severities = ["critical", "error", "warning", "info"]

    public static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid) {
        try KindSupport.requireHTTPURL(channel, "url")
        if let severity = channel.settings["severity"], !severities.contains(severity) {
            throw NotificationChannel.Invalid(field: "settings.severity", message: "one of \(severities.joined(separator: ", "))")
        }
    }

    public static func message(for notification: OutgoingNotification) -> OutboundMessage? {
        let facts = notification.facts
        let channel = notification.channel
        let url = channel.settings["url"] ?? defaultURL
        var event: [String: Any] = ["routing_key": channel.secret ?? "", "dedup_key": "heartbeat-\(facts.applicationUUID)"]
        if facts.status == "down" {
            event["event_action"] = "trigger"
            var details: [String: Any] = [
                "body": notification.body, "status": facts.status, "previous": facts.previous, "reason": facts.reason,
                "last_heartbeat": facts.lastHeartbeat ?? "never",
            ]
            if !facts.labels.isEmpty { details["labels"] = facts.labels }
            event["payload"] = [
                "summary": String(notification.title.prefix(1_024)),
                "source": channel.settings["source"] ?? "heartbeat",
                "severity": channel.settings["severity"] ?? "critical",
                "timestamp": facts.at,
                "component": facts.name,
                "custom_details": details,
            ] as [String: Any]
            if !notification.applicationURL.isEmpty { event["links"] = [["href": notification.applicationURL, "text": facts.name]] }
            event["client"] = "heartbeat"
        } else if facts.previous == "down" {
            event["event_action"] = "resolve"
        } else {
            return nil
        }
        return KindSupport.postJSON(url, event)
    }
}
