import Collector
import Foundation
import Hummingbird
import Protocol

/// The status page, rendered on the server (no JavaScript, nothing fetched from elsewhere):
/// `GET /` lists applications worst first (filtered by `?state=`) with counts by state, then the
/// latest transitions; `GET /apps/{uuid}` shows one application — state, since, last heartbeat,
/// next deadline, last run, uptime and records per minute (``StatusPageHistory``), runs — and its
/// transitions. States come from memory like the status API;
/// transitions from PostgreSQL through the history cache, read first, so a transition on the page
/// is never newer than the states beside it. Both pages reload themselves every 5 seconds, and the
/// title says how many applications are down.
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
            var filter: LivenessStatus?
            if let text = request.uri.queryParameters.get("state"), !text.isEmpty {
                guard let status = LivenessStatus(label: text) else { throw APIError.badRequest("state: \(text) is not one of new, up, late, down, paused") }
                filter = status
            }
            let transitions = try await recentTransitions(shared, uuid: nil)
            let live = try shared.liveStatus()
            let html = overview(
                counts: shared.summaries.counts(of: live), applications: live.worst(limit: shownApplications, status: filter), filter: filter,
                transitions: transitions, view: live.view, nowMicros: ReadCache.nowMicros(), incident: shared.collector.snapshot().monitor.openIncident)
            return page(html)
        }
        router.get("/apps/:uuid") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            guard let applicationID = try shared.liveStatus().application(uuid)?.profile.applicationID else { throw APIError.notFound("no application \(uuid)") }
            let transitions = try await recentTransitions(shared, uuid: uuid)
            let (runs, tail) = try await recentRuns(shared, uuid: uuid)
            let history = try await StatusPageHistory.section(shared, applicationID: Int(applicationID))
            let live = try shared.liveStatus()
            guard let application = live.application(uuid) else { throw APIError.notFound("no application \(uuid)") }
            let counts = shared.summaries.counts(of: live)
            let now = ReadCache.nowMicros()
            let runsHTML = runsSection(runs, tail: tail, uuid: "\(uuid)", nowMicros: now)
            return page(detail(application, downCount: counts[.down] ?? 0, transitions: transitions, history: history, runs: runsHTML, view: live.view, nowMicros: now))
        }
    }

    /// A transition as the page shows it.
    struct Transition: Equatable {
        let atMicros: Int64
        let from: String
        let to: String
        let reason: String
        let uuid: String
        let name: String
    }

    /// The latest transitions of every application (or of `uuid`), newest first, through the
    /// history cache.
    static func recentTransitions(_ shared: SidecarContext, uuid: ApplicationUUID?) async throws -> [Transition] {
        let key = "page transitions \(uuid.map { "\($0)" } ?? "all")"
        // Kept in the cache as JSON (the cache holds bytes) and read back here.
        let body = try await shared.history(key: key) {
            let items = try await shared.historyReads.run { connection -> [(uuid: String, name: String, transition: StoredTransition)] in
                if let uuid {
                    return (try ApplicationStore.transitions(uuid, limit: shownTransitions, on: connection) ?? []).map { ("\(uuid)", "", $0) }
                }
                return try ApplicationStore.recentTransitions(limit: shownTransitions, on: connection)
            }
            return APIModels.encode(items.map { item -> [String: Any] in
                ["at": item.transition.atMicros, "from": item.transition.from, "to": item.transition.to, "reason": item.transition.reason, "uuid": item.uuid, "name": item.name]
            })
        }
        let items = (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? []
        return items.compactMap { item in
            guard let at = (item["at"] as? NSNumber)?.int64Value, let from = item["from"] as? String, let to = item["to"] as? String,
                let reason = item["reason"] as? String, let uuid = item["uuid"] as? String, let name = item["name"] as? String
            else { return nil }
            return Transition(atMicros: at, from: from, to: to, reason: reason, uuid: uuid, name: name)
        }
    }

    static func page(_ html: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let colours: [LivenessStatus: String] = [.down: "#c62828", .late: "#e65100", .new: "#546e7a", .paused: "#6d4c41", .short: "#827717", .up: "#2e7d32"]

    /// The page around `body`: head, styles (readable from 390 px wide up), heading.
    static func document(title: String, downCount: Int, body: String) -> String {
        let prefix = downCount > 0 ? "(\(downCount) down) " : ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(prefix)\(escape(title))</title>
            <style>
            *{box-sizing:border-box}
            body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:20px;color:#1c1c1c;background:#f6f7f9}
            main{max-width:1100px;margin:0 auto}
            h1{font-size:21px;margin:0 0 14px} h2{font-size:16px;margin:26px 0 8px}
            a{color:#1a56a6;text-decoration:none} a:hover{text-decoration:underline}
            .filters{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:14px}
            .filter{display:flex;align-items:center;gap:8px;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:8px 12px;color:#1c1c1c}
            .filter b{font-size:20px} .filter.on{border-color:#1a56a6;box-shadow:0 0 0 1px #1a56a6}
            .state{display:inline-block;color:#fff;border-radius:4px;padding:1px 8px;font-size:13px;font-weight:600;white-space:nowrap}
            .table{overflow-x:auto;background:#fff;border:1px solid #dde1e6;border-radius:8px}
            table{border-collapse:collapse;width:100%}
            th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #eef0f3;white-space:nowrap} th{font-size:13px;color:#5f6368;font-weight:600}
            tr:last-child td{border-bottom:0} td.name{white-space:normal;word-break:break-word}
            .muted{color:#6b7075;font-size:13px}
            .incident{background:#fff3e0;border-left:4px solid #ef6c00;padding:8px 12px}
            dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 16px;margin:0}
            dt{color:#5f6368} dd{margin:0;word-break:break-word}
            .figures{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:10px}
            .figure{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:6px 12px}
            svg.days{display:block;width:100%;height:34px} svg.chart{display:block;width:100%;height:90px;background:#fff;border:1px solid #dde1e6;border-radius:8px}
            .axis{display:flex;justify-content:space-between;margin-top:2px}
            pre.output{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 12px;margin:0;max-height:360px;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-word}
            @media (max-width:600px){body{padding:12px} .wide{display:none} th,td{padding:6px 7px} .filter{padding:6px 9px} .filter b{font-size:17px}}
            </style></head><body><main>
            \(body)
            <p class="muted">refreshes every 5 s · <a href="/">all applications</a> · <a href="/v1/summary">/v1/summary</a> · <a href="/metrics">/metrics</a></p>
            </main></body></html>

            """
    }

    static func overview(
        counts: [LivenessStatus: Int], applications: [LiveApplication], filter: LivenessStatus?, transitions: [Transition], view: LivenessView, nowMicros: Int64,
        incident: CollectorSnapshot.Monitor.OpenIncident? = nil
    ) -> String {
        let total = counts.values.reduce(0, +)
        var body = "<h1>Heartbeat status</h1>\n"
        if let incident {
            body += "<p class=\"incident\"><b>Incident open</b> since \(time(incident.since)) (\(ago(incident.since, nowMicros))), "
                + "cause \(escape(incident.cause.replacingOccurrences(of: "_", with: " "))): individual notifications are held; "
                + "what is still down when it ends is sent as one grouped notification per channel.</p>\n"
        }
        body += "<nav class=\"filters\">"
        body += "<a class=\"filter\(filter == nil ? " on" : "")\" href=\"/\">all <b>\(total)</b></a>"
        for state in LiveStatus.worstFirst {
            body += "<a class=\"filter\(filter == state ? " on" : "")\" href=\"/?state=\(state)\">\(badge(state.description)) <b>\(counts[state] ?? 0)</b></a>"
        }
        body += "</nav>\n"
        body += "<h2>\(filter.map { "Applications \($0)" } ?? "Applications, worst first")</h2>\n"
        body += "<div class=\"table\"><table><tr><th>state</th><th>name</th><th>last heartbeat</th><th>since</th><th class=\"wide\">expects</th><th class=\"wide\">uuid</th></tr>\n"
        for application in applications {
            let profile = application.profile
            // The silenced mark goes with the name, which wraps: beside the state it would widen a
            // column that does not, past a phone's width.
            body += "<tr><td>\(badge(application.status.description))</td>"
                + "<td class=\"name\"><a href=\"/apps/\(profile.uuid)\">\(escape(profile.name))</a>"
                + (application.silenceID == nil ? "" : " <span class=\"muted silenced\">silenced</span>")
                + (application.instances.map { " <span class=\"muted instances\">\(instancesText($0))</span>" } ?? "")
                + (profile.labels.isEmpty ? "" : " <span class=\"muted\">\(escape(labelText(profile.labels)))</span>") + "</td>"
                + "<td>\(application.lastHeartbeatMicros.map { ago($0, nowMicros) } ?? "never")</td>"
                + "<td>\(application.sinceMicros.map { ago($0, nowMicros) } ?? "—")</td>"
                + "<td class=\"wide\">\(escape(profile.schedule?.words ?? "every \(duration(profile.intervalMillis * 1_000))"))</td>"
                + "<td class=\"wide muted\">\(profile.uuid)</td></tr>\n"
        }
        if applications.isEmpty {
            body += "<tr><td colspan=\"6\" class=\"muted\">\(filter == nil ? "no applications registered" : "none")</td></tr>"
        }
        body += "</table></div>\n"
        let inScope = filter.map { counts[$0] ?? 0 } ?? total
        if inScope > applications.count { body += "<p class=\"muted\">showing the first \(applications.count) of \(inScope)</p>" }
        body += "<h2>Latest transitions</h2>\n" + transitionTable(transitions, nowMicros: nowMicros, withNames: true)
        body += "<p class=\"muted\">view: \(LiveJSON.viewLabel(view)), taken \(ago(view.takenAtMicros, nowMicros))</p>"
        return document(title: "Heartbeat status", downCount: counts[.down] ?? 0, body: body)
    }

    static func detail(
        _ application: LiveApplication, downCount: Int, transitions: [Transition], history: String = "", runs: String = "", view: LivenessView, nowMicros: Int64
    ) -> String {
        let profile = application.profile
        var body = "<h1>\(escape(profile.name)) \(badge(application.status.description))</h1>\n<dl>"
        func row(_ term: String, _ value: String) { body += "<dt>\(term)</dt><dd>\(value)</dd>" }
        row("state", "\(badge(application.status.description))" + (application.sinceMicros.map { " since \(time($0)) (\(ago($0, nowMicros)))" } ?? ""))
        if let instances = application.instances {
            row("instances", instancesText(instances) + " (an instance counts for interval + grace after its record; a stop excuses its place)")
        }
        if let silence = application.silenceID {
            row("silenced", "\(silencedTag) by silence \(silence): transitions are recorded, their notifications held until it ends")
        }
        row("last heartbeat", application.lastHeartbeatMicros.map { "\(time($0)) (\(ago($0, nowMicros)))" } ?? "never")
        row("next expected", LiveJSON.nextExpected(application).map { "\(time($0)) (\(until($0, nowMicros)))" } ?? "—")
        row("next deadline", application.nextDeadlineMicros.map { "\(time($0)) (\(until($0, nowMicros)))" } ?? "none")
        row("last run", application.lastRun.map { "\(duration($0.durationMicros)), ended \(time($0.endedMicros)) (\(ago($0.endedMicros, nowMicros)))" } ?? "none")
        var expects = profile.schedule.map {
            "a record \(escape($0.words)) (<code>\(escape($0.expression.text))</code>); late \(duration(profile.graceMillis * 1_000)) after a fire time, down as long again later"
        } ?? "a record every \(duration(profile.intervalMillis * 1_000)), then \(duration(profile.graceMillis * 1_000)) of grace"
        if let maxRun = profile.maxRunMillis { expects += "; runs of at most \(duration(maxRun * 1_000))" }
        row("expects", expects)
        row("records", profile.isSigned ? "signed (HMAC)" : "unsigned")
        if !profile.labels.isEmpty { row("labels", escape(labelText(profile.labels))) }
        if !profile.isEnabled { row("enabled", "no: its records are refused") }
        row("uuid", "<span class=\"muted\">\(profile.uuid)</span>")
        body += "</dl>\n" + history + runs + "<h2>Transitions</h2>\n" + transitionTable(transitions, nowMicros: nowMicros, withNames: false)
        body += "<p class=\"muted\">view: \(LiveJSON.viewLabel(view)), taken \(ago(view.takenAtMicros, nowMicros)) · "
            + "<a href=\"/v1/apps/\(profile.uuid)\">JSON</a> · <a href=\"/v1/apps/\(profile.uuid)/events\">events</a></p>"
        return document(title: profile.name + " · Heartbeat", downCount: downCount, body: body)
    }

    static func transitionTable(_ transitions: [Transition], nowMicros: Int64, withNames: Bool) -> String {
        var html = "<div class=\"table\"><table><tr><th>when</th>\(withNames ? "<th>name</th>" : "")<th>change</th><th class=\"wide\">why</th></tr>\n"
        for item in transitions {
            html += "<tr><td>\(ago(item.atMicros, nowMicros))</td>"
            if withNames { html += "<td class=\"name\"><a href=\"/apps/\(escape(item.uuid))\">\(escape(item.name))</a></td>" }
            html += "<td>\(badge(item.from)) → \(badge(item.to))</td><td class=\"wide muted\">\(escape(item.reason.replacingOccurrences(of: "_", with: " ")))</td></tr>\n"
        }
        if transitions.isEmpty { html += "<tr><td colspan=\"4\" class=\"muted\">none yet</td></tr>" }
        return html + "</table></div>\n"
    }

    /// `team=payments tier=1`, keys sorted.
    static func labelText(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// Beside the state of an application a silence covers.
    /// "2 of 3 instances": counted now, and needed.
    static func instancesText(_ instances: LivenessView.InstanceCount) -> String {
        "\(instances.counted) of \(instances.needed) instance\(instances.needed == 1 ? "" : "s")"
    }

    static let silencedTag = "<span class=\"state\" style=\"background:#5c6bc0\">silenced</span>"

    static func badge(_ state: String) -> String {
        let colour = LivenessStatus(label: state).flatMap { colours[$0] } ?? "#9e9e9e"
        return "<span class=\"state\" style=\"background:\(colour)\">\(escape(state))</span>"
    }

    /// `2026-11-30 03:04:05 UTC`.
    static func time(_ micros: Int64) -> String {
        let text = CivilCalendar.rfc3339(micros: micros)
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + " UTC"
    }

    /// "4 s ago", "3 min ago", "2 h ago", "5 d ago".
    static func ago(_ micros: Int64, _ nowMicros: Int64) -> String {
        duration(max(0, nowMicros - micros)) + " ago"
    }

    /// "in 4 s", or "overdue" once passed.
    static func until(_ micros: Int64, _ nowMicros: Int64) -> String {
        micros >= nowMicros ? "in " + duration(micros - nowMicros) : "overdue"
    }

    /// "850 ms", "4 s", "3 min", "2 h", "5 d".
    static func duration(_ micros: Int64) -> String {
        if micros < 1_000_000 { return "\(micros / 1_000) ms" }
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
