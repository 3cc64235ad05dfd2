import Foundation

/// What several kinds share: URL checks, JSON bodies, RFC 3339 times.
enum KindSupport {
    /// Refuses a setting that is not an http:// or https:// URL.
    static func requireHTTPURL(_ channel: NotificationChannel, _ key: String) throws(NotificationChannel.Invalid) {
        guard let value = channel.settings[key] else { return }
        guard value.hasPrefix("http://") || value.hasPrefix("https://"), value.utf8.count <= 2_048, !value.contains(where: \.isWhitespace) else {
            throw NotificationChannel.Invalid(field: "settings.\(key)", message: "an http:// or https:// URL (at most 2048 bytes, no spaces)")
        }
    }

    /// `object` as compact JSON with sorted keys and unescaped slashes.
    static func json(_ object: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }

    /// Unix µs as RFC 3339 UTC with microseconds, as notifications write times.
    static func rfc3339(micros: Int64) -> String {
        CivilCalendar.rfc3339(micros: micros)
    }

    /// A JSON POST.
    static func postJSON(_ url: String, _ object: Any, headers: [String] = []) -> OutboundMessage {
        .post(url: url, headers: ["Content-Type: application/json", "User-Agent: heartbeat-collector"] + headers, body: json(object))
    }
}
