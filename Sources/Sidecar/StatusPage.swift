import Collector
import Foundation
import Hummingbird

/// `GET /`: the status page, rendered on the server (no JavaScript, no build step): counts by
/// state, applications worst first with their state in colour and the time since their last
/// heartbeat, and a strip of recent transitions. It reloads itself every 5 seconds and is served
/// through the read cache like the API.
enum StatusPage {
    static let shownApplications = 500
    static let shownTransitions = 20

    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/") { request, _ in
            // A browser cannot send a bearer token: `?token=<read token>` once sets an HttpOnly,
            // SameSite=Strict cookie and redirects to the page without the token in its address.
            if let token = request.uri.queryParameters.get("token") {
                guard shared.isReadToken(token), let cookie = shared.readCookieValue else { throw APIError.forbiddenRead }
                return Response(status: .seeOther, headers: [
                    .location: "/", .cacheControl: "no-store",
                    .setCookie: "\(SidecarContext.readCookieName)=\(cookie); Path=/; HttpOnly; SameSite=Strict",
                ])
            }
            try shared.requireRead(request)
            return try await shared.cachedRead(request, key: "page", contentType: "text/html; charset=utf-8") {
                let (counts, applications, transitions) = try await shared.database.run { connection in
                    (
                        try ApplicationStore.summary(on: connection), try ApplicationStore.worstFirst(limit: shownApplications, on: connection),
                        try ApplicationStore.recentTransitions(limit: shownTransitions, on: connection)
                    )
                }
                return Array(render(counts: counts, applications: applications, transitions: transitions, nowMicros: Int64(Date().timeIntervalSince1970 * 1e6)).utf8)
            }
        }
    }

    static let order = ["down", "late", "new", "paused", "up"]
    static let colours = ["down": "#c62828", "late": "#ef6c00", "new": "#546e7a", "paused": "#6d4c41", "up": "#2e7d32"]

    static func render(
        counts: [String: Int], applications: [ApplicationRecord], transitions: [(uuid: String, name: String, transition: StoredTransition)], nowMicros: Int64
    ) -> String {
        let total = counts.values.reduce(0, +)
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Heartbeat status</title>
            <style>
            body{font:15px/1.4 system-ui,sans-serif;margin:24px;color:#212121;background:#fafafa}
            h1{font-size:22px;margin:0 0 16px} h2{font-size:16px;margin:24px 0 8px}
            .counts{display:flex;gap:12px;flex-wrap:wrap}
            .count{background:#fff;border:1px solid #e0e0e0;border-radius:8px;padding:10px 16px;min-width:90px}
            .count b{display:block;font-size:24px}
            .state{display:inline-block;color:#fff;border-radius:4px;padding:1px 8px;font-size:13px;font-weight:600}
            table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e0e0e0}
            th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eee} th{font-size:13px;color:#616161}
            .strip{display:flex;gap:8px;flex-wrap:wrap}
            .change{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:6px 10px;font-size:13px}
            .muted{color:#757575;font-size:13px}
            </style></head><body>
            <h1>Heartbeat status</h1>
            <div class="counts">
            """
        html += "<div class=\"count\">all<b>\(total)</b></div>"
        for state in order {
            html += "<div class=\"count\"><span class=\"state\" style=\"background:\(colours[state]!)\">\(state)</span><b>\(counts[state] ?? 0)</b></div>"
        }
        html += "</div>\n<h2>Recent transitions</h2>\n<div class=\"strip\">"
        if transitions.isEmpty { html += "<span class=\"muted\">none yet</span>" }
        for item in transitions {
            html += "<div class=\"change\">\(escape(item.name)): \(badge(item.transition.from)) → \(badge(item.transition.to)) "
                + "<span class=\"muted\">\(ago(item.transition.atMicros, nowMicros)) · \(escape(item.transition.reason))</span></div>"
        }
        html += "</div>\n<h2>Applications, worst first</h2>\n<table><tr><th>state</th><th>name</th><th>last heartbeat</th><th>interval</th><th>uuid</th></tr>"
        for application in applications {
            html += "<tr><td>\(badge(application.status))</td><td>\(escape(application.name))</td>"
                + "<td>\(application.lastHeartbeatMicros.map { ago($0, nowMicros) } ?? "never")</td>"
                + "<td>\(duration(Int64(application.intervalMillis) * 1_000))</td><td class=\"muted\">\(application.uuid)</td></tr>"
        }
        if applications.isEmpty { html += "<tr><td colspan=\"5\" class=\"muted\">no applications registered</td></tr>" }
        html += "</table>\n"
        if total > applications.count { html += "<p class=\"muted\">showing the \(applications.count) worst of \(total)</p>" }
        html += "<p class=\"muted\">refreshes every 5 s · <a href=\"/v1/summary\">/v1/summary</a> · <a href=\"/metrics\">/metrics</a></p></body></html>\n"
        return html
    }

    static func badge(_ state: String) -> String {
        "<span class=\"state\" style=\"background:\(colours[state] ?? "#9e9e9e")\">\(escape(state))</span>"
    }

    /// "4 s ago", "3 min ago", "2 h ago", "5 d ago".
    static func ago(_ micros: Int64, _ nowMicros: Int64) -> String {
        duration(max(0, nowMicros - micros)) + " ago"
    }

    static func duration(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7_200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3_600) h" }
        return "\(seconds / 86_400) d"
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
