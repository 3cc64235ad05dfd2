import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// The status API, management and batch ingest over real HTTP, against real PostgreSQL.
@Suite("HTTP sidecar: status API, management, batch ingest", .serialized)
struct StatusAPITests {
    static let token = "test-admin-token-0123456789"
    static let admin = ["Authorization": "Bearer \(token)"]

    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    func post(_ running: RunningSidecar, _ path: String, _ json: String, headers: [String: String] = admin) throws -> HTTPResult {
        try httpRequest(port: running.port, path, method: "POST", headers: headers.merging(["Content-Type": "application/json"]) { $1 }, body: Array(json.utf8))
    }

    @Test("management: 401 without a token, 403 with a wrong one; create (signed → 64-hex secret), patch, pause, resume, rotate, delete")
    func management() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let body = #"{"name":"nightly","interval_ms":2000,"grace_ms":1000,"signed":true}"#
            #expect(try post(running, "/v1/apps", body, headers: [:]).status == 401)
            let wrong = try post(running, "/v1/apps", body, headers: ["Authorization": "Bearer not-the-token-at-all"])
            #expect(wrong.status == 403)
            #expect(try object(wrong)["error"] as? String == "forbidden")

            let created = try post(running, "/v1/apps", body)
            #expect(created.status == 201)
            let app = try object(created)
            let uuid = try #require(app["uuid"] as? String)
            #expect(app["name"] as? String == "nightly" && app["status"] as? String == "new" && app["signed"] as? Bool == true)
            let secret = try #require(app["secret"] as? String)
            #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit))
            #expect(created.headers["location"] == "/v1/apps/\(uuid)")
            let stored = try running.connection.query("SELECT encode(secret, 'hex'), interval_ms, grace_ms FROM application WHERE uuid = '\(uuid)'")
            #expect(stored == [[secret, "2000", "1000"]])
            let shown = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))
            #expect(shown["secret"] == nil, "a secret is shown once, at creation")

            let patched = try httpRequest(
                port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"grace_ms":5000,"max_run_ms":60000}"#.utf8))
            #expect(patched.status == 200)
            #expect(try object(patched)["grace_ms"] as? Int == 5000)
            #expect(try object(patched)["max_run_ms"] as? Int == 60000)
            let cleared = try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"max_run_ms":null}"#.utf8))
            #expect(try object(cleared)["max_run_ms"] is NSNull)

            let paused = try post(running, "/v1/apps/\(uuid)/pause", "")
            #expect(paused.status == 200)
            #expect(try object(paused)["status"] as? String == "paused")
            let resumed = try post(running, "/v1/apps/\(uuid)/resume", "")
            #expect(try object(resumed)["status"] as? String == "new")
            let changes = try running.connection.query("SELECT from_status, to_status, reason FROM status_change ORDER BY id")
            #expect(changes == [["new", "paused", "operator_pause"], ["paused", "new", "operator_resume"]])

            let rotated = try post(running, "/v1/apps/\(uuid)/rotate-secret", "")
            #expect(rotated.status == 200)
            let newSecret = try #require(try object(rotated)["secret"] as? String)
            #expect(newSecret != secret && newSecret.count == 64)
            #expect(try object(rotated)["previous_secret_expires_at"] is String)
            #expect(try running.connection.query("SELECT encode(previous_secret, 'hex') FROM application WHERE uuid = '\(uuid)'") == [[secret]])

            #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "DELETE", headers: Self.admin).status == 204)
            #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "DELETE", headers: Self.admin).status == 404)
            #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)").status == 404)
        }
    }

    @Test("schedules: create with a cron schedule, read it back in words with next_expected_at; refusals name the field; PATCH switches")
    func schedules() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let created = try post(running, "/v1/apps", #"{"name":"backup","schedule":{"cron":"0 3 * * 1-5","time_zone":"Europe/Berlin"},"grace_ms":600000}"#)
            #expect(created.status == 201, "\(created.text)")
            let app = try object(created)
            let uuid = try #require(app["uuid"] as? String)
            #expect(app["interval_ms"] is NSNull)
            let schedule = try #require(app["schedule"] as? [String: Any])
            #expect(schedule["cron"] as? String == "0 3 * * 1-5" && schedule["time_zone"] as? String == "Europe/Berlin")
            #expect(schedule["description"] as? String == "at 03:00 on Monday through Friday (Europe/Berlin)")
            let stored = try running.connection.query("SELECT interval_ms IS NULL, schedule_cron, schedule_time_zone FROM application WHERE uuid = '\(uuid)'")
            #expect(stored == [["t", "0 3 * * 1-5", "Europe/Berlin"]])

            // The live answer (from the collector's memory) carries the schedule too.
            let live = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))
            #expect(live["interval_ms"] is NSNull && (live["schedule"] as? [String: Any])?["time_zone"] as? String == "Europe/Berlin")
            #expect(live["next_expected_at"] is NSNull, "nothing expected before the first heartbeat")

            for (json, field) in [
                (#"{"name":"x","schedule":{"cron":"61 * * * *"}}"#, "schedule.cron"),
                (#"{"name":"x","schedule":{"cron":"0 0 30 2 *"}}"#, "schedule.cron"),
                (#"{"name":"x","schedule":{"cron":"0 3 * * *","time_zone":"Mars/Olympus"}}"#, "schedule.time_zone"),
                (#"{"name":"x","interval_ms":1000,"schedule":{"cron":"0 3 * * *"}}"#, "schedule"),
                (#"{"name":"x","schedule":{"time_zone":"UTC"}}"#, "cron"),
            ] {
                let refused = try post(running, "/v1/apps", json)
                #expect(refused.status == 400 && refused.text.contains(field), "\(json): \(refused.status) \(refused.text)")
            }
            #expect(try running.connection.query("SELECT count(*) FROM application WHERE name = 'x'") == [["0"]])

            let toInterval = try httpRequest(port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"interval_ms":5000}"#.utf8))
            let interval = try object(toInterval)
            #expect(toInterval.status == 200 && interval["interval_ms"] as? Int == 5000 && interval["schedule"] is NSNull)
            let toCron = try httpRequest(
                port: running.port, "/v1/apps/\(uuid)", method: "PATCH", headers: Self.admin, body: Array(#"{"schedule":{"cron":"@hourly"}}"#.utf8))
            let back = try object(toCron)
            #expect(back["interval_ms"] is NSNull && (back["schedule"] as? [String: Any])?["time_zone"] as? String == "UTC", "\(toCron.text)")
            #expect((back["schedule"] as? [String: Any])?["description"] as? String == "every hour (UTC)")
        }
    }

    @Test("bad input is 400 with a JSON error, an oversized body 413, an unknown route 404 — never 500")
    func badInput() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            for (path, json, fragment) in [
                ("/v1/apps", #"{"name":"x","colour":"red"}"#, "unknown field(s): colour"),
                ("/v1/apps", #"{"name":"x","interval_ms":"soon"}"#, "interval_ms"),
                ("/v1/apps", #"{"interval_ms":1000}"#, "name"),
                ("/v1/apps", #"{"name":"x","interval_ms":0}"#, "interval_ms"),
                ("/v1/apps", #"{"name":""}"#, "name"),
                ("/v1/apps", "[1,2]", "JSON object"),
                ("/v1/apps", "{not json", "JSON object"),
                ("/v1/apps", #"{"name":"x","signed":"yes"}"#, "signed"),
            ] {
                let result = try post(running, path, json)
                #expect(result.status == 400, "\(json) → \(result.status) \(result.text)")
                let error = try object(result)
                #expect(error["error"] as? String == "bad_request")
                #expect((error["message"] as? String)?.contains(fragment) == true, "\(json) → \(result.text)")
            }
            #expect(try httpRequest(port: running.port, "/v1/apps/12345").status == 400)
            #expect(try httpRequest(port: running.port, "/v1/apps?state=sleepy").status == 400)
            #expect(try httpRequest(port: running.port, "/v1/apps?limit=0").status == 400)
            #expect(try httpRequest(port: running.port, "/v1/apps?cursor=abc").status == 400)
            #expect(try httpRequest(port: running.port, "/v1/apps/\(running.application)/events?before=yesterday").status == 400)
            let huge = try post(running, "/v1/apps", #"{"name":""# + String(repeating: "x", count: 20_000) + #""}"#)
            #expect(huge.status == 413)
            #expect(try object(huge)["error"] as? String == "too_large")
            let missing = try httpRequest(port: running.port, "/v2/anything")
            #expect(missing.status == 404)
            #expect(try object(missing)["error"] as? String == "not_found")
            #expect(try httpRequest(port: running.port, "/v1/apps/\(ApplicationUUID.random())").status == 404)
        }
    }

    @Test("reads: list with state and prefix filters and cursor paging in id order, one app, events, transitions, summary")
    func reads() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            for index in 0..<5 { _ = try post(running, "/v1/apps", #"{"name":"batch-\#(index)"}"#) }
            _ = try post(running, "/v1/apps", #"{"name":"other"}"#)
            var names = [String]()
            var cursor: String?
            repeat {
                let page = try object(try httpRequest(port: running.port, "/v1/apps?prefix=batch-&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")))
                names += (page["apps"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(names == (0..<5).map { "batch-\($0)" })
            let newOnes = try object(try httpRequest(port: running.port, "/v1/apps?state=new&limit=100"))
            #expect((newOnes["apps"] as? [Any])?.count == 7)
            #expect((try object(try httpRequest(port: running.port, "/v1/apps?state=down")))["apps"] as? [Any] != nil)

            // Heartbeats for the harness's application: events and a transition appear.
            let sender = UDPSender(port: running.pipeline.udpPort)
            for sequence in [1, 2, 4] {  // 3 is lost
                var record = HeartbeatRecord(kind: .beat, application: running.application, instance: 9, sequence: UInt64(sequence), sentAtMicros: Int64(Date().timeIntervalSince1970 * 1e6), intervalMillis: 60_000, status: 0)
                var bytes = [UInt8](repeating: 0, count: 64)
                bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
                sender.send(bytes)
                usleep(20_000)
            }
            let uuid = running.application
            #expect(try running.waitFor(5) { ((try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/events")))["events"] as? [Any])?.count == 3 })
            let events = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/events?limit=2"))
            let listed = try #require(events["events"] as? [[String: Any]])
            #expect(listed.map { $0["seq"] as? Int } == [4, 2], "newest first")
            #expect(listed.first?["kind"] as? String == "beat" && listed.first?["instance"] as? Int == 9)
            let before = try #require(events["next_before"] as? String)
            let older = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/events?before=\(before)"))
            #expect((older["events"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [1])
            #expect(try running.waitFor(5) { (try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)")))["status"] as? String == "up" })
            let detail = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))
            #expect(detail["interval_ms"] as? Int == 60_000 && detail["view"] as? String == "standalone")
            #expect(detail["last_heartbeat"] as? String != nil && detail["since"] as? String != nil && detail["next_deadline"] as? String != nil)
            // From the rollups, written each second here (and cached for a second).
            #expect(try running.waitFor(5) {
                (try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/loss")))["records_lost_last_hour"] as? Int == 1
            }, "seq 3 missing")
            let now = Int64(Date().timeIntervalSince1970 * 1e6)
            let window = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/loss?from=\(now - 600_000_000)&to=\(now + 60_000_000)"))
            #expect(window["records_lost"] as? Int == 1 && window["records_expected"] as? Int == 4 && window["instances"] as? Int == 1)
            #expect((window["records"] as? [String: Any])?["beat"] as? Int == 3)
            let empty = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/loss?from=\(now + 3_600_000_000)&to=\(now + 7_200_000_000)"))
            #expect(empty["records_lost"] as? Int == 0 && empty["records_lost_last_hour"] as? Int == 1, "a window without records; the last hour's figure stays")
            #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)/loss?from=\(now)&to=\(now - 60_000_000)").status == 400)
            #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)/loss?from=yesterday").status == 400)
            let transitions = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/transitions"))
            #expect((transitions["transitions"] as? [[String: Any]])?.first?["to"] as? String == "up")
            let summary = try object(try httpRequest(port: running.port, "/v1/summary"))
            #expect(summary["total"] as? Int == 7 && summary["up"] as? Int == 1 && summary["new"] as? Int == 6)
        }
    }

    @Test("live reads: ETag, Cache-Control: no-cache, 304 on If-None-Match; history reads: max-age=1 with Age, 304, repeated reads hit the cache")
    func caching() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let first = try httpRequest(port: running.port, "/v1/apps/\(running.application)")
            #expect(first.status == 200)
            let etag = try #require(first.headers["etag"])
            #expect(first.headers["cache-control"] == "no-cache" && first.headers["heartbeat-view-at"] != nil)
            let again = try httpRequest(port: running.port, "/v1/apps/\(running.application)", headers: ["If-None-Match": etag])
            #expect(again.status == 304 && again.body.isEmpty && again.headers["etag"] == etag)
            #expect(try httpRequest(port: running.port, "/v1/apps/\(running.application)", headers: ["If-None-Match": "\"other\""]).status == 200)
            let path = "/v1/apps/\(running.application)/transitions"
            let history = try httpRequest(port: running.port, path)
            #expect(history.status == 200 && history.headers["cache-control"] == "max-age=1" && history.headers["age"] == "0")
            let historyTag = try #require(history.headers["etag"])
            let revalidated = try httpRequest(port: running.port, path, headers: ["If-None-Match": historyTag])
            #expect(revalidated.status == 304 && ["0", "1"].contains(revalidated.headers["age"] ?? ""))
            for _ in 0..<20 { _ = try httpRequest(port: running.port, path) }
            let metrics = try httpRequest(port: running.port, "/metrics").text
            let hits = metrics.split(separator: "\n").first { $0.hasPrefix("heartbeat_api_cache_hits_total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            #expect(hits >= 10, "20 reads of one resource within a second or two are mostly hits (\(hits))")
        }
    }

    @Test("POST /v1/heartbeats: 202 with accepted and rejected counts; accepted rows land in PostgreSQL; limits enforced")
    func batchIngest() async throws {
        try await RunningSidecar.with { running in
            var body = [UInt8]()
            for sequence in 1...10 {
                var record = HeartbeatRecord(kind: .beat, application: running.application, instance: 3, sequence: UInt64(sequence), sentAtMicros: Int64(Date().timeIntervalSince1970 * 1e6), intervalMillis: 0, status: 0)
                var bytes = [UInt8](repeating: 0, count: 64)
                bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
                body += bytes
            }
            var unknown = HeartbeatRecord(kind: .beat, application: ApplicationUUID.random(), instance: 3, sequence: 1, sentAtMicros: Int64(Date().timeIntervalSince1970 * 1e6), intervalMillis: 0, status: 0)
            var unknownBytes = [UInt8](repeating: 0, count: 64)
            unknownBytes.withUnsafeMutableBytes { unknown.encodeSigned(with: nil, to: $0.baseAddress!) }
            body += unknownBytes + [UInt8](repeating: 0, count: 64)
            let octets = ["Content-Type": "application/octet-stream"]
            let answer = try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: octets, body: body)
            #expect(answer.status == 202, "\(answer.text)")
            let outcome = try object(answer)
            #expect(outcome["received"] as? Int == 12 && outcome["accepted"] as? Int == 10)
            #expect(outcome["rejected"] as? [String: Int] == ["unknown_app": 1, "malformed": 1])
            #expect(try running.waitFor(5) { try running.connection.query("SELECT count(*) FROM heartbeat_event") == [["10"]] })
            #expect(try running.connection.query("SELECT min(seq), max(seq), count(DISTINCT seq) FROM heartbeat_event") == [["1", "10", "10"]])
            // The same records again: the drain finds them replayed, counted, not stored twice.
            _ = try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: octets, body: body)
            #expect(try running.waitFor(5) { running.pipeline.statistics.rejected[.replay] == 10 })
            #expect(try running.connection.query("SELECT count(*) FROM heartbeat_event") == [["10"]])
            let statistics = running.pipeline.statistics
            #expect(statistics.recordsReceived == 24 && statistics.isBalanced)
            // Limits.
            #expect(try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: octets, body: [UInt8](repeating: 1, count: 65)).status == 400)
            #expect(try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: octets, body: []).status == 400)
            #expect(try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: octets, body: [UInt8](repeating: 0, count: 64 * 1_025)).status == 413)
            #expect(try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: ["Content-Type": "text/plain"], body: unknownBytes).status == 415)
            // No content type at all is what a browser page's fetch() sends without a CORS preflight.
            let untyped = try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", body: unknownBytes)
            #expect(untyped.status == 415, "\(untyped.text)")
            #expect(try httpRequest(port: running.port, "/v1/heartbeats", method: "POST", headers: ["Content-Type": "Application/Octet-Stream; x=1"], body: unknownBytes).status == 202)
        }
    }

    @Test("GET / renders the status page from memory: filters by state, applications worst first, transitions, a detail page, names escaped")
    func statusPage() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let created = try object(try post(running, "/v1/apps", #"{"name":"<b>bold</b> & co"}"#))
            let bold = try #require(created["uuid"] as? String)
            _ = try post(running, "/v1/apps/\(running.application)/pause", "{}")
            let page = try httpRequest(port: running.port, "/")
            #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8")
            let html = page.text
            #expect(html.contains(#"<meta http-equiv="refresh" content="5">"#) && html.contains("<title>Heartbeat status</title>"))
            #expect(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co") && !html.contains("<b>bold</b>"))
            let newRow = try #require(html.range(of: "&lt;b&gt;bold"))
            let pausedRow = try #require(html.range(of: ">sidecar</a>"))
            #expect(newRow.lowerBound < pausedRow.lowerBound, "new is listed before paused")
            let transitions = try #require(html.range(of: "Latest transitions"))
            #expect(pausedRow.lowerBound < transitions.lowerBound, "the applications come first, then transitions")
            #expect(html.contains("all <b>2</b>") && html.contains("operator pause"))
            let paused = try httpRequest(port: running.port, "/?state=paused").text
            #expect(paused.contains(">sidecar</a>") && !paused.contains("bold"))
            #expect(try httpRequest(port: running.port, "/?state=sleeping").status == 400)
            let detail = try httpRequest(port: running.port, "/apps/\(running.application)")
            #expect(detail.status == 200 && detail.text.contains("next deadline") && detail.text.contains("operator pause"))
            #expect(try httpRequest(port: running.port, "/apps/\(ApplicationUUID.random())").status == 404)
            #expect(try httpRequest(port: running.port, "/apps/\(bold)").text.contains("never"))
        }
    }

    @Test("a transition /transitions shows is never contradicted by a status read after it; an API pause is visible to the writer's next read")
    func consistency() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let uuid = running.application
            try running.connection.query("UPDATE application SET interval_ms = 300, grace_ms = 300 WHERE uuid = '\(uuid)'")
            let order = ["new", "up", "late", "down"]
            #expect(try running.waitFor(5) { (try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)")))["interval_ms"] as? Int == 300 })
            let sender = UDPSender(port: running.pipeline.udpPort)
            var record = HeartbeatRecord(kind: .beat, application: uuid, instance: 1, sequence: 1, sentAtMicros: Int64(Date().timeIntervalSince1970 * 1e6), intervalMillis: 300, status: 0)
            var bytes = [UInt8](repeating: 0, count: 64)
            bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
            sender.send(bytes)
            // The application goes new → up → late → down within about a second; read history,
            // then status, over and over: status is never behind what history showed.
            var contradictions = [String]()
            var seen = Set<String>()
            let deadline = Date().addingTimeInterval(3)
            while Date() < deadline {
                let history = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/transitions"))
                let latest = ((history["transitions"] as? [[String: Any]])?.first?["to"] as? String) ?? "new"
                let status = (try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)")))["status"] as? String ?? "?"
                seen.insert(latest)
                if (order.firstIndex(of: status) ?? -1) < (order.firstIndex(of: latest) ?? 99) { contradictions.append("\(latest) then \(status)") }
            }
            #expect(contradictions.isEmpty, "history showed a state the status read after it did not: \(contradictions)")
            #expect(seen.contains("down"), "the run reached down: \(seen)")
            // The writer reads its own pause at once, from memory and from history alike.
            _ = try post(running, "/v1/apps/\(uuid)/pause", "{}")
            #expect((try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)")))["status"] as? String == "paused")
            let history = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/transitions"))
            #expect((history["transitions"] as? [[String: Any]])?.first?["reason"] as? String == "operator_pause")
            #expect((try object(try httpRequest(port: running.port, "/v1/summary")))["paused"] as? Int == 1)
        }
    }
}
