import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
@testable import Sidecar
import Testing

/// Badges: what a badge says (a table), and `/badge/{key}` over real HTTP and PostgreSQL: public,
/// isolated by key, rotated, and revealing nothing but what it shows.
@Suite("HTTP sidecar: badges", .serialized)
struct BadgeTests {
    static let adminToken = "badge-admin-token-0123456789abcdef"
    static let readToken = "badge-read-token-0123456789abcdef"

    @Test("a state's badge: message and colour for each status, and for a disabled application")
    func stateTable() {
        let table: [(LivenessStatus?, String, Badge.Color)] = [
            (.up, "up", .brightgreen), (.late, "late", .yellow), (.down, "down", .red), (.paused, "paused", .lightgrey), (.new, "new", .lightgrey),
            (nil, "disabled", .lightgrey),
        ]
        for (status, message, color) in table {
            #expect(Badge.state(status, label: "status") == Badge(label: "status", message: message, color: color), "\(String(describing: status))")
        }
    }

    @Test("an uptime's badge: cut to two decimals, never rounded up to 100 %; colour by band; no data without counted time")
    func uptimeTable() {
        let table: [(Double?, String, Badge.Color)] = [
            (1, "100%", .brightgreen), (0.99996, "99.99%", .brightgreen), (0.999, "99.90%", .brightgreen), (0.99899, "99.89%", .green),
            (0.99, "99.00%", .green), (0.9899, "98.99%", .yellow), (0.95, "95.00%", .yellow), (0.9405, "94.05%", .orange), (0.9, "90.00%", .orange),
            (0.8999, "89.99%", .red), (0, "0.00%", .red), (nil, "no data", .lightgrey),
        ]
        for (ratio, message, color) in table {
            let badge = Badge.uptime(ratio, label: "uptime 30d")
            #expect(badge.message == message && badge.color == color, "\(String(describing: ratio)) → \(badge.message) \(badge.color)")
        }
    }

    @Test("?show= parses the state and the uptime route's four windows, nothing else")
    func show() {
        #expect(Badge.Show(nil) == .state && Badge.Show("state") == .state)
        #expect(Badge.Show("uptime30d") == .uptime(window: "30d", seconds: 30 * 86_400))
        #expect(Badge.Show("uptime24h") == .uptime(window: "24h", seconds: 86_400))
        for bad in ["uptime", "uptime1y", "uptime30", "30d", "State"] { #expect(Badge.Show(bad) == nil, "\(bad)") }
    }

    @Test("the SVG is one element with the label and message escaped, wider for longer text; the JSON is the shields.io endpoint format")
    func forms() throws {
        let badge = Badge(label: "a<b & \"c\"", message: "99.90%", color: .green)
        let svg = badge.svg
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.hasSuffix("</svg>") && !svg.contains("\n"))
        #expect(svg.contains("a&lt;b &amp; &quot;c&quot;") && svg.contains("fill=\"#97ca00\""))
        #expect(Badge.textWidth("uptime 30d") > Badge.textWidth("status"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(badge.json)) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 1 && json["label"] as? String == "a<b & \"c\"" && json["message"] as? String == "99.90%" && json["color"] as? String == "green")
        #expect(json.count == 4)
    }

    @Test("badges are public and keyed: each key shows its own application only; unknown, malformed, uuid and rotated keys are the same 404; keys need the tokens to read and rotate")
    func keys() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken, readToken: Self.readToken) { running in
            let read = ["Authorization": "Bearer \(Self.readToken)"], admin = ["Authorization": "Bearer \(Self.adminToken)"]
            let other = ApplicationUUID.random()
            try running.connection.query("INSERT INTO application (uuid, name) VALUES ('\(other)', 'the other one')")
            #expect(try running.waitFor(10) { try httpRequest(port: running.port, "/v1/apps/\(other)", headers: read).status == 200 })
            // The harness's application goes down, the other stays new: a key shows only its own.
            try running.connection.query("UPDATE application SET status = 'down' WHERE uuid = '\(running.application)'")
            #expect(try httpRequest(port: running.port, "/v1/apps/\(running.application)/badge-key").status == 401, "reading a key needs the read token")
            func key(_ uuid: ApplicationUUID) throws -> String {
                let answer = try #require(try JSONSerialization.jsonObject(with: Data(try httpRequest(port: running.port, "/v1/apps/\(uuid)/badge-key", headers: read).body)) as? [String: Any])
                return try #require(answer["badge_key"] as? String)
            }
            let first = try key(running.application), second = try key(other)
            #expect(first != second && BadgeKeys.isWellFormed(first) && !first.contains(running.application.description.replacingOccurrences(of: "-", with: "")))

            // Public: no token. The state comes from the monitor (a status written behind its back
            // is not shown), so bring the harness's application up with a real ping.
            #expect(try httpRequest(port: running.port, "/ping/\(running.application)").status == 200)
            #expect(try running.waitFor(10) { try httpRequest(port: running.port, "/badge/\(first).json").text.contains("\"message\":\"up\"") })
            let mine = try httpRequest(port: running.port, "/badge/\(first).svg")
            #expect(mine.status == 200 && mine.headers["content-type"] == "image/svg+xml" && mine.text.contains(">up</text>"))
            let theirs = try httpRequest(port: running.port, "/badge/\(second).json?label=api")
            #expect(theirs.text.contains("\"message\":\"new\"") && theirs.text.contains("\"label\":\"api\""))
            for answer in [mine.text, theirs.text] {
                #expect(!answer.contains(running.application.description) && !answer.contains(other.description) && !answer.contains("sidecar") && !answer.contains("the other one"))
            }

            // Every wrong key is the same 404, telling nothing about which keys exist.
            let missing = [
                "/badge/\(String(repeating: "0", count: 32)).svg", "/badge/\(running.application).svg", "/badge/\(first.uppercased()).svg",
                "/badge/\(first).png", "/badge/\(first)", "/badge/x.json",
            ]
            for path in missing { #expect(try httpRequest(port: running.port, path).status == 404, "\(path)") }
            #expect(try httpRequest(port: running.port, "/badge/\(first).svg?show=uptime1y").status == 400)
            #expect(try httpRequest(port: running.port, "/badge/\(first).svg?label=\(String(repeating: "x", count: 41))").status == 400)

            // Rotating needs the admin token; the old key stops working at once, the new one works.
            #expect(try httpRequest(port: running.port, "/v1/apps/\(running.application)/badge-key", method: "POST", headers: read).status == 403)
            let rotated = try httpRequest(port: running.port, "/v1/apps/\(running.application)/badge-key", method: "POST", headers: admin)
            let newKey = try #require((try JSONSerialization.jsonObject(with: Data(rotated.body)) as? [String: Any])?["badge_key"] as? String)
            #expect(try newKey != first && key(running.application) == newKey)
            #expect(try httpRequest(port: running.port, "/badge/\(first).svg").status == 404)
            #expect(try httpRequest(port: running.port, "/badge/\(newKey).json").text.contains("\"message\":\"up\""))
            #expect(try httpRequest(port: running.port, "/v1/apps/\(ApplicationUUID.random())/badge-key", headers: read).status == 404)
        }
    }

    @Test("an uptime badge from stored transitions: down 3 of the last 30 days' counted time")
    func uptimeBadge() async throws {
        try await RunningSidecar.with { running in
            let id = try running.connection.query("SELECT id FROM application WHERE uuid = '\(running.application)'")[0][0]!
            let now = Int64(Date().timeIntervalSince1970 * 1e6), day: Int64 = 86_400_000_000
            for (at, from, to) in [(now - 40 * day, "new", "up"), (now - 10 * day, "up", "down"), (now - 7 * day, "down", "up")] {
                try running.connection.execute("""
                    INSERT INTO status_change (application_id, at, from_status, to_status, reason)
                    VALUES ($1::integer, 'epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3, $4, 'heartbeat')
                    """, [id, String(at), from, to])
            }
            let key = try #require(try BadgeKeys.key(of: running.application, on: running.connection))
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(try httpRequest(port: running.port, "/badge/\(key).json?show=uptime30d").body)) as? [String: Any])
            #expect(answer["label"] as? String == "uptime 30d" && answer["message"] as? String == "90.00%" && answer["color"] as? String == "orange", "\(answer)")
            let week = try httpRequest(port: running.port, "/badge/\(key).svg?show=uptime7d")
            #expect(week.text.contains(">100%</text>"), "the last 7 days were up")
        }
    }
}
