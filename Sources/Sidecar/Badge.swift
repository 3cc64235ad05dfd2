import Collector

/// A status badge (`/badge/{key}.svg|json`, `Spec/access.md`, "Badges"): a label, a message and a
/// colour, drawn as a flat SVG or given in the shields.io endpoint format. Pure: what the badge
/// says is decided from a state or an uptime here, and tested as a table.
struct Badge: Equatable {
    let label: String
    let message: String
    /// A colour name of the shields.io endpoint format.
    let color: Color

    /// The colours a badge uses, by their shields.io names, with the hex the SVG draws.
    enum Color: String {
        case brightgreen, green, yellow, orange, red, lightgrey

        var hex: String {
            switch self {
            case .brightgreen: "#44cc11"
            case .green: "#97ca00"
            case .yellow: "#dfb317"
            case .orange: "#fe7d37"
            case .red: "#e05d44"
            case .lightgrey: "#9f9f9f"
            }
        }
    }

    /// What a badge shows (`?show=`): the state now, or uptime over one of the uptime route's windows.
    enum Show: Equatable {
        case state
        case uptime(window: String, seconds: Int64)

        /// `?show=state` (the default) or `uptime24h|uptime7d|uptime30d|uptime90d`.
        init?(_ text: String?) {
            guard let text, text != "state" else {
                self = .state
                return
            }
            guard text.hasPrefix("uptime"), let seconds = UptimeAPI.windows[String(text.dropFirst(6))] else { return nil }
            self = .uptime(window: String(text.dropFirst(6)), seconds: seconds)
        }

        /// The label a badge of this kind has without `?label=`.
        var defaultLabel: String {
            switch self {
            case .state: "status"
            case .uptime(let window, _): "uptime \(window)"
            }
        }
    }

    /// The badge of a state (`nil`: the application is disabled, so the monitor has no state for it).
    static func state(_ status: LivenessStatus?, label: String) -> Badge {
        switch status {
        case .up: Badge(label: label, message: "up", color: .brightgreen)
        case .late: Badge(label: label, message: "late", color: .yellow)
        case .short: Badge(label: label, message: "short", color: .yellow)
        case .down: Badge(label: label, message: "down", color: .red)
        case .paused: Badge(label: label, message: "paused", color: .lightgrey)
        case .new: Badge(label: label, message: "new", color: .lightgrey)
        case nil: Badge(label: label, message: "disabled", color: .lightgrey)
        }
    }

    /// The badge of an uptime ratio (nil: nothing counted in the window).
    static func uptime(_ ratio: Double?, label: String) -> Badge {
        guard let ratio else { return Badge(label: label, message: "no data", color: .lightgrey) }
        return Badge(label: label, message: percent(ratio), color: band(ratio))
    }

    /// An uptime as a percentage cut, never rounded up, to two decimals: 99.996 % shows as
    /// "99.99%", and only no downtime at all as "100%". The status page shows uptimes the same way.
    static func percent(_ ratio: Double) -> String {
        let hundredths = Int((ratio * 10_000).rounded(.down))
        return hundredths >= 10_000 ? "100%" : "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)%"
    }

    /// The colour of an uptime's band, by the percentage ``percent(_:)`` shows.
    static func band(_ ratio: Double) -> Color {
        switch Int((ratio * 10_000).rounded(.down)) {
        case 9_990...: .brightgreen
        case 9_900..<9_990: .green
        case 9_500..<9_900: .yellow
        case 9_000..<9_500: .orange
        default: .red
        }
    }

    /// The shields.io endpoint format (https://shields.io/badges/endpoint-badge).
    var json: [UInt8] {
        var json = Array("{\"schemaVersion\":1,\"label\":".utf8)
        LiveJSON.string(label, into: &json)
        json += Array(",\"message\":".utf8)
        LiveJSON.string(message, into: &json)
        json += Array(",\"color\":\"\(color.rawValue)\"}".utf8)
        return json
    }

    /// A flat badge, 20 px high, sized to its text (Verdana 11 px widths, estimated per character).
    var svg: String {
        let labelWidth = Self.textWidth(label) + 10, messageWidth = Self.textWidth(message) + 10
        let width = labelWidth + messageWidth
        let title = StatusPage.escape("\(label): \(message)")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="20" role="img" aria-label="\(title)"><title>\(title)</title>\
            <linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>\
            <clipPath id="r"><rect width="\(width)" height="20" rx="3" fill="#fff"/></clipPath>\
            <g clip-path="url(#r)"><rect width="\(labelWidth)" height="20" fill="#555"/><rect x="\(labelWidth)" width="\(messageWidth)" height="20" fill="\(color.hex)"/>\
            <rect width="\(width)" height="20" fill="url(#s)"/></g>\
            <g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">\
            <text x="\(labelWidth / 2)" y="14">\(StatusPage.escape(label))</text><text x="\(labelWidth + messageWidth / 2)" y="14">\(StatusPage.escape(message))</text></g></svg>
            """
    }

    /// The width of `text` in Verdana 11 px, estimated per character (narrow, wide, the rest).
    static func textWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            switch scalar {
            case "i", "l", "j", "I", "!", ".", ",", ":", ";", "'", "|": width + 4
            case " ", "f", "t", "r", "(", ")", "[", "]", "-": width + 5
            case "m", "w", "M", "W", "%", "@": width + 11
            case "A"..."Z": width + 8
            default: width + 7
            }
        }
    }
}
