import Foundation

/// A title or body template: text with `{{placeholder}}`s (`Spec/notifications.md`,
/// "Templates"). Parsed when a channel is saved, so an unknown placeholder is refused then, not
/// rendered as a blank at 3 a.m.
public struct NotificationTemplate: Sendable, Equatable {
    /// A part of the template.
    enum Piece: Sendable, Equatable {
        case text(String)
        case placeholder(Placeholder)
    }

    /// A value a template can name.
    public enum Placeholder: Sendable, Equatable {
        case name, uuid, status, previous, reason, since, lastHeartbeat, runDuration, url, event, logTail
        /// `labels.<key>`: the application's label, empty when it has none of that key.
        case label(String)

        /// The placeholders by the name written between the braces.
        static let named: [String: Placeholder] = [
            "name": .name, "uuid": .uuid, "status": .status, "previous": .previous, "reason": .reason, "since": .since,
            "last_heartbeat": .lastHeartbeat, "run_duration_ms": .runDuration, "url": .url, "event": .event, "log_tail": .logTail,
        ]

        /// Every name a template may use, for error messages and the doc.
        public static let names = named.keys.sorted() + ["labels.<key>"]
    }

    /// Why a template was refused.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    let pieces: [Piece]
    /// The template as written.
    public let source: String

    public init(parsing source: String) throws(Invalid) {
        self.source = source
        var pieces = [Piece]()
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw Invalid(description: "an opening {{ has no closing }}")
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let placeholder = Placeholder.named[name] {
                pieces.append(.placeholder(placeholder))
            } else if name.hasPrefix("labels."), ApplicationLabels.isValidKey(String(name.dropFirst(7))) {
                pieces.append(.placeholder(.label(String(name.dropFirst(7)))))
            } else {
                throw Invalid(description: "unknown placeholder {{\(name)}}; known: \(Placeholder.names.joined(separator: ", "))")
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
    }

    /// The text for `facts`; `applicationURL` is what `{{url}}` becomes.
    public func render(_ facts: NotificationFacts, applicationURL: String) -> String {
        var text = ""
        for piece in pieces {
            switch piece {
            case .text(let value): text += value
            case .placeholder(let placeholder): text += Self.value(of: placeholder, facts, applicationURL: applicationURL)
            }
        }
        return text
    }

    static func value(of placeholder: Placeholder, _ facts: NotificationFacts, applicationURL: String) -> String {
        switch placeholder {
        case .name: facts.name
        case .uuid: facts.applicationUUID
        case .status: facts.status
        case .previous: facts.previous
        case .reason: facts.reason
        case .since: facts.at
        case .lastHeartbeat: facts.lastHeartbeat ?? "never"
        case .runDuration: facts.runDurationMillis.map(String.init) ?? ""
        case .url: applicationURL
        case .event: facts.event
        case .logTail: facts.logTail ?? ""
        case .label(let key): facts.labels[key] ?? ""
        }
    }

    /// The title every kind uses unless it or the channel sets another.
    public static let defaultTitle = try! NotificationTemplate(parsing: "{{name}} is {{status}}")
    /// The body every kind uses unless it or the channel sets another.
    public static let defaultBody = try! NotificationTemplate(
        parsing: "{{name}} went from {{previous}} to {{status}} at {{since}} ({{reason}}). Last heartbeat: {{last_heartbeat}}. {{url}}")
}
