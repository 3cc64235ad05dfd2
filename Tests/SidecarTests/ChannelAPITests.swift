import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// `/v1/channels` and application labels over real HTTP, against real PostgreSQL and a real
/// receiver for the test notification.
@Suite("HTTP sidecar: notification channels and labels", .serialized)
struct ChannelAPITests {
    static let token = "channel-admin-token-0123456789"
    static let admin = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]

    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    func call(_ running: RunningSidecar, _ method: String, _ path: String, _ json: String = "", headers: [String: String] = admin) throws -> HTTPResult {
        try httpRequest(port: running.port, path, method: method, headers: headers, body: Array(json.utf8))
    }

    @Test("create (secret never shown), list, read, change, test (delivered, and 502 with the error), delete; admin only")
    func lifecycle() async throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let body = #"{"kind":"webhook","name":"ops hook","settings":{"url":"\#(receiver.url)"},"secret":"channel-secret-0123456789","labels":{"team":"payments"}}"#
            #expect(try call(running, "POST", "/v1/channels", body, headers: [:]).status == 401)
            #expect(try call(running, "GET", "/v1/channels", headers: [:]).status == 401)
            let created = try call(running, "POST", "/v1/channels", body)
            #expect(created.status == 201)
            let channel = try object(created)
            let id = try #require(channel["id"] as? Int)
            #expect(created.headers["location"] == "/v1/channels/\(id)")
            #expect(channel["secret"] == nil && channel["secret_set"] as? Bool == true)
            #expect(!created.text.contains("channel-secret"), "the secret never comes back")
            #expect(channel["events"] is NSNull && channel["labels"] as? [String: String] == ["team": "payments"])
            #expect(try call(running, "POST", "/v1/channels", body).status == 409, "names are unique")

            let list = try object(try call(running, "GET", "/v1/channels"))["channels"] as? [[String: Any]]
            #expect(list?.map { $0["name"] as? String } == ["ops hook"])

            let patched = try call(running, "PATCH", "/v1/channels/\(id)", #"{"events":["down","up"],"enabled":true}"#)
            #expect(patched.status == 200)
            #expect(try object(patched)["events"] as? [String] == ["down", "up"])
            #expect(try object(try call(running, "PATCH", "/v1/channels/\(id)", #"{"events":null}"#))["events"] is NSNull)

            let tested = try call(running, "POST", "/v1/channels/\(id)/test")
            #expect(try tested.status == 200 && object(tested)["delivered"] as? Bool == true)
            #expect(receiver.requests.count == 1)
            let sent = try JSONSerialization.jsonObject(with: Data(receiver.requests[0].body)) as? [String: Any]
            #expect(sent?["name"] as? String == "heartbeat test notification" && sent?["reason"] as? String == "test")
            #expect(receiver.requests[0].headers["x-heartbeat-signature"]?.hasPrefix("v1=") == true)

            _ = try call(running, "PATCH", "/v1/channels/\(id)", #"{"settings":{"url":"http://127.0.0.1:1/closed"}}"#)
            let failed = try call(running, "POST", "/v1/channels/\(id)/test")
            #expect(failed.status == 502)
            #expect(try object(failed)["error"] as? String == "channel_failed")
            #expect((try object(failed)["message"] as? String)?.contains("transport") == true)

            #expect(try call(running, "DELETE", "/v1/channels/\(id)").status == 204)
            #expect(try call(running, "GET", "/v1/channels/\(id)").status == 404)
            #expect(try call(running, "POST", "/v1/channels/\(id)/test").status == 404)
            #expect(try call(running, "GET", "/v1/channels/abc").status == 400)
        }
    }

    @Test("bad channels are 400s naming the field", arguments: [
        (#"{"kind":"sms","name":"x"}"#, "kind"),
        (#"{"name":"x"}"#, "kind"),
        (#"{"kind":"slack","name":"x","settings":{"url":"https://h/x"},"title_template":"{{nme}} down"}"#, "title_template"),
        (#"{"kind":"slack","name":"x","settings":{"url":"https://h/x"},"events":["sideways"]}"#, "events"),
        (#"{"kind":"slack","name":"x","settings":{"url":5}}"#, "settings"),
        (#"{"kind":"slack","name":"x","settings":{"url":"https://h/x"},"colour":"red"}"#, "colour"),
        (#"{"kind":"email","name":"x","settings":{"smtp_url":"smtp://h:25","from":"a@b.c"}}"#, "settings.to"),
    ])
    func badChannels(body: String, field: String) async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let answer = try call(running, "POST", "/v1/channels", body)
            #expect(answer.status == 400)
            #expect((try object(answer)["message"] as? String)?.contains(field) == true, "\(answer.text)")
        }
    }

    @Test("application labels: set at creation, replaced by PATCH, shown by live reads; bad keys are 400s")
    func labels() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let created = try object(try call(running, "POST", "/v1/apps", #"{"name":"billing","labels":{"team":"payments","tier":"1"}}"#))
            let uuid = try #require(created["uuid"] as? String)
            #expect(created["labels"] as? [String: String] == ["team": "payments", "tier": "1"])
            #expect(try running.waitFor(5) { (try? object(try httpRequest(port: running.port, "/v1/apps/\(uuid)")))?["labels"] as? [String: String] == ["team": "payments", "tier": "1"] })
            let patched = try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"labels":{"team":"search"}}"#)
            #expect(try object(patched)["labels"] as? [String: String] == ["team": "search"])
            #expect(try running.waitFor(5) { (try? object(try httpRequest(port: running.port, "/v1/apps/\(uuid)")))?["labels"] as? [String: String] == ["team": "search"] })
            let page = try httpRequest(port: running.port, "/apps/\(uuid)").text
            #expect(page.contains("<dt>labels</dt><dd>team=search</dd>"), "the application's page shows its labels")
            #expect(try httpRequest(port: running.port, "/").text.contains("<span class=\"muted\">team=search</span>"))
            let bad = try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"labels":{"bad key":"x"}}"#)
            #expect(try bad.status == 400 && (object(bad)["message"] as? String)?.hasPrefix("labels:") == true)
            #expect(try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"labels":null}"#).status == 400)
        }
    }
}
