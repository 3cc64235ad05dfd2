/// One kind of channel: how a notification becomes a message for it. Pure: it builds the message,
/// and ``MessageTransport`` sends it. Adding a kind is a type conforming to this, one line in
/// ``NotificationKinds/all``, its tests, and its section in `Spec/notifications.md`.
public protocol NotificationKind: Sendable {
    /// The `kind` a channel names.
    static var name: String { get }
    /// Settings a channel of this kind must have, and may have.
    static var requiredSettings: [String] { get }
    static var optionalSettings: [String] { get }
    /// Whether the channel's `secret` is required, and what it is (for the error message).
    static var secretRequired: Bool { get }
    static var secretMeaning: String { get }
    /// Whether `title_template`/`body_template` mean anything for this kind.
    static var usesTemplates: Bool { get }
    static var defaultTitle: NotificationTemplate { get }
    static var defaultBody: NotificationTemplate { get }

    /// Checks the values of the settings (a URL's scheme, an address …) beyond their presence.
    static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid)

    /// The message for one notification, or nil when this kind has nothing to say about it (an
    /// incident tool hears of `down` and of recovering from it, not of `late`).
    static func message(for notification: OutgoingNotification) -> OutboundMessage?
}

extension NotificationKind {
    public static var optionalSettings: [String] { [] }
    public static var secretRequired: Bool { false }
    public static var secretMeaning: String { "not used" }
    public static var usesTemplates: Bool { true }
    public static var defaultTitle: NotificationTemplate { NotificationTemplate.defaultTitle }
    public static var defaultBody: NotificationTemplate { NotificationTemplate.defaultBody }
    public static func validate(_ channel: NotificationChannel) throws(NotificationChannel.Invalid) {}
}

/// A kind whose target forgets what it was told unless told again: it re-sends its current state
/// every ``refreshSeconds`` (Alertmanager resolves an alert that is not re-sent).
public protocol RefreshingNotificationKind: NotificationKind {
    /// How often the state is re-sent, for `channel`.
    static func refreshSeconds(_ channel: NotificationChannel) -> Int
    /// The messages that re-state the channel's applications: `down` holds the transitions that
    /// took each application down now, `recovered` the recent ones that took one out of `down`
    /// (re-stated too, so a re-send that raced a recovery is corrected by the next one).
    static func refresh(
        down: [NotificationFacts], recovered: [NotificationFacts], channel: NotificationChannel, applicationURL: (String) -> String,
        nowMicros: Int64
    ) -> [OutboundMessage]
}

/// One notification on its way to one channel: what a kind builds its message from.
public struct OutgoingNotification: Sendable {
    public let facts: NotificationFacts
    public let channel: NotificationChannel
    /// The stable dedupe id of this notification on this channel (`notification_delivery.id`).
    public let deliveryID: String
    /// The title and body, rendered from the channel's templates.
    public let title: String
    public let body: String
    /// What `{{url}}` became (empty without `--public-url`).
    public let applicationURL: String
    /// When this attempt is made (a webhook signs it).
    public let nowMicros: Int64

    public init(facts: NotificationFacts, channel: NotificationChannel, deliveryID: String, applicationURL: String, nowMicros: Int64) {
        self.facts = facts
        self.channel = channel
        self.deliveryID = deliveryID
        self.applicationURL = applicationURL
        self.nowMicros = nowMicros
        title = channel.title.render(facts, applicationURL: applicationURL)
        body = channel.body.render(facts, applicationURL: applicationURL)
    }
}

/// What a kind asks the transport to send.
public enum OutboundMessage: Sendable, Equatable {
    /// A POST of `body` with these header lines ("Name: value").
    case post(url: String, headers: [String], body: [UInt8])
    /// An SMTP submission.
    case email(EmailMessage)
}

/// An email ready for SMTP: the envelope and the whole RFC 5322 message.
public struct EmailMessage: Sendable, Equatable {
    public let serverURL: String
    public let from: String
    public let recipients: [String]
    public let username: String?
    public let password: String?
    public let requireTLS: Bool
    /// Headers, a blank line and the body, with CRLF line ends.
    public let message: [UInt8]
}

/// Every kind this collector can send to.
public enum NotificationKinds {
    public static let all: [any NotificationKind.Type] = [
        WebhookKind.self, SlackKind.self, AlertmanagerKind.self, EmailKind.self, PagerDutyKind.self,
    ]

    public static func named(_ name: String) -> (any NotificationKind.Type)? { all.first { $0.name == name } }
}
