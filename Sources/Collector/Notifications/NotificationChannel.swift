/// A place notifications go (`notification_channel`): a kind's sender with its settings, and the
/// filter that decides which notifications it takes.
public struct NotificationChannel: Sendable, Equatable {
    public var id: Int
    /// The sender (``NotificationKinds``): `webhook`, `slack`, `alertmanager`, `email`, `pagerduty`.
    public var kind: String
    public var name: String
    /// The kind's settings (a URL, addresses …); never secret.
    public var settings: [String: String]
    /// What is never shown back: a signing key, a password, a routing key.
    public var secret: String?
    public var enabled: Bool
    /// The events it takes (nil: all).
    public var events: [String]?
    /// An application's labels must contain all of these.
    public var labelFilter: [String: String]
    public var titleTemplate: String?
    public var bodyTemplate: String?

    public init(
        id: Int = 0, kind: String, name: String, settings: [String: String] = [:], secret: String? = nil, enabled: Bool = true,
        events: [String]? = nil, labelFilter: [String: String] = [:], titleTemplate: String? = nil, bodyTemplate: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.settings = settings
        self.secret = secret
        self.enabled = enabled
        self.events = events
        self.labelFilter = labelFilter
        self.titleTemplate = titleTemplate
        self.bodyTemplate = bodyTemplate
    }

    /// The events a channel can filter on: the statuses a transition enters, and the events of
    /// loss-aware delivery (which only channels that name them take).
    public static let knownEvents = LivenessStatus.allCases.map(\.description) + DeliveryEvent.allCases.map(\.rawValue)

    /// Why a channel was refused: the field, and what it must be.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let field: String
        public let message: String
        public var description: String { "\(field): \(message)" }
    }

    /// The sender of its kind, or nil for a kind this collector does not know.
    public var sender: (any NotificationKind.Type)? { NotificationKinds.named(kind) }

    /// Checks everything a channel must be before it is stored; the first problem, naming its field.
    public func validate() throws(Invalid) {
        guard let sender else {
            throw Invalid(field: "kind", message: "unknown kind \"\(kind)\"; known: \(NotificationKinds.all.map { $0.name }.joined(separator: ", "))")
        }
        if let problem = ApplicationStore.nameProblem(name) { throw Invalid(field: "name", message: problem) }
        guard settings.count <= 16 else { throw Invalid(field: "settings", message: "at most 16 settings") }
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) where value.utf8.count > 2_048 {
            throw Invalid(field: "settings.\(key)", message: "at most 2048 bytes")
        }
        for key in settings.keys.sorted() where !sender.requiredSettings.contains(key) && !sender.optionalSettings.contains(key) {
            throw Invalid(
                field: "settings.\(key)",
                message: "unknown for kind \(kind); it takes \((sender.requiredSettings + sender.optionalSettings).joined(separator: ", "))")
        }
        for key in sender.requiredSettings where (settings[key] ?? "").isEmpty {
            throw Invalid(field: "settings.\(key)", message: "required for kind \(kind)")
        }
        if sender.secretRequired, (secret ?? "").isEmpty { throw Invalid(field: "secret", message: "required for kind \(kind): \(sender.secretMeaning)") }
        if let secret, secret.utf8.count > 4_096 { throw Invalid(field: "secret", message: "at most 4096 bytes") }
        if let events {
            if events.isEmpty { throw Invalid(field: "events", message: "at least one event, or leave it out for all") }
            for event in events where !Self.knownEvents.contains(event) {
                throw Invalid(field: "events", message: "unknown event \"\(event)\"; known: \(Self.knownEvents.joined(separator: ", "))")
            }
        }
        if let problem = ApplicationLabels.problem(labelFilter) { throw Invalid(field: "labels", message: problem) }
        for (field, template) in [("title_template", titleTemplate), ("body_template", bodyTemplate)] {
            guard let template else { continue }
            guard sender.usesTemplates else {
                throw Invalid(field: field, message: "kind \(kind) sends the notification JSON as it is; templates apply to the other kinds")
            }
            guard template.utf8.count <= 4_096 else { throw Invalid(field: field, message: "at most 4096 bytes") }
            do throws(NotificationTemplate.Invalid) { _ = try NotificationTemplate(parsing: template) } catch {
                throw Invalid(field: field, message: error.description)
            }
        }
        try sender.validate(self)
    }

    /// The title template in force: the channel's, else the kind's default.
    public var title: NotificationTemplate {
        titleTemplate.flatMap { try? NotificationTemplate(parsing: $0) } ?? sender?.defaultTitle ?? NotificationTemplate.defaultTitle
    }

    /// The body template in force: the channel's, else the kind's default.
    public var body: NotificationTemplate {
        bodyTemplate.flatMap { try? NotificationTemplate(parsing: $0) } ?? sender?.defaultBody ?? NotificationTemplate.defaultBody
    }

    /// Whether it takes a notification of `event` about an application labelled `labels` (the rule
    /// the transition statement applies in SQL, for the sends that are not queued: the
    /// Alertmanager re-send).
    public func takes(event: String, labels: [String: String]) -> Bool {
        let optIn = DeliveryEvent(rawValue: event) != nil
        return enabled && (events?.contains(event) ?? !optIn) && labelFilter.allSatisfy { labels[$0.key] == $0.value }
    }
}
