/// `webhook`: the notification JSON, POSTed to `url` and signed with the channel's secret
/// (``WebhookSignature``; `Spec/notifications.md`, "webhook").
public enum WebhookKind: NotificationKind {
    public static let name = "webhook"
    public static let requiredSettings = ["url"]
    public static let secretRequired = true
    public static let secretMeaning = "the key of the X-Heartbeat-Signature HMAC, 16 bytes or more"
    public static let usesTemplates = false

    public static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid) {
        try KindSupport.requireHTTPURL(channel, "url")
        guard (channel.secret?.utf8.count ?? 0) >= 16 else { throw NotificationChannel.Invalid(field: "secret", message: "at least 16 bytes") }
    }

    public static func message(for notification: OutgoingNotification) -> OutboundMessage? {
        let body = Array(notification.facts.payload.utf8)
        let timestamp = notification.nowMicros / 1_000_000
        let signature = WebhookSignature.header(
            for: body, deliveryID: notification.deliveryID, timestampSeconds: timestamp, secret: Array((notification.channel.secret ?? "").utf8))
        return .post(
            url: notification.channel.settings["url"] ?? "",
            headers: [
                "Content-Type: application/json",
                "User-Agent: heartbeat-collector",
                "\(WebhookSignature.deliveryHeaderName): \(notification.deliveryID)",
                "\(WebhookSignature.timestampHeaderName): \(timestamp)",
                "\(WebhookSignature.headerName): \(signature)",
            ],
            body: body)
    }
}
