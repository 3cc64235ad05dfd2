/// `slack`: a Slack incoming-webhook message (Mattermost and Rocket.Chat take the same JSON): the
/// title as `text`, and one attachment coloured by the status entered with the body.
public enum SlackKind: NotificationKind {
    public static let name = "slack"
    public static let requiredSettings = ["url"]
    /// `channel` and `username` override the webhook's own, where the service allows it.
    public static let optionalSettings = ["channel", "username"]
    public static let defaultTitle = try! NotificationTemplate(parsing: "{{name}} is {{status}}")

    public static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid) {
        try KindSupport.requireHTTPURL(channel, "url")
    }

    /// Attachment colours: green up, amber late or short, red down, grey otherwise.
    static func color(_ status: String) -> String {
        switch status {
        case "up": "#2eb886"
        case "late", "short": "#daa038"
        case "down": "#a30200"
        default: "#808080"
        }
    }

    public static func message(for notification: OutgoingNotification) -> OutboundMessage? {
        var object: [String: Any] = [
            "text": notification.title,
            "attachments": [[
                "color": color(notification.facts.status),
                "fallback": notification.title,
                "title": notification.title,
                "text": notification.body,
                "footer": "heartbeat",
            ] as [String: Any]],
        ]
        for key in optionalSettings { if let value = notification.channel.settings[key] { object[key] = value } }
        return KindSupport.postJSON(notification.channel.settings["url"] ?? "", object)
    }
}
