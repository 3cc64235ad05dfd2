import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// `/v1/silences` over real HTTP and PostgreSQL: admin only, every selector and window, live reads
/// and the page showing the silenced application, clear 400s.
@Suite("HTTP sidecar: silences", .serialized)
struct SilenceAPITests {
    static let token = "silence-admin-token-0123456789"
    static let admin = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]

    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    func call(_ running: RunningSidecar, _ method: String, _ path: String, _ json: String = "", headers: [String: String] = admin) throws -> HTTPResult {
        try httpRequest(port: running.port, path, method: method, headers: headers, body: Array(json.utf8))
    }

    @Test("create (one-off and recurring), list, read, delete; admin only; the silenced application shows it in live reads and on the page")
    func lifecycle() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let uuid = running.application
            let body = #"{"apps":["\#(uuid)"],"until":"2099-01-01T00:00:00Z","comment":"database upgrade"}"#
            #expect(try call(running, "POST", "/v1/silences", body, headers: [:]).status == 401)
            let created = try call(running, "POST", "/v1/silences", body)
            #expect(created.status == 201, "\(created.text)")
            let silence = try object(created)
            let id = try #require(silence["id"] as? Int)
            #expect(created.headers["location"] == "/v1/silences/\(id)")
            #expect(silence["apps"] as? [String] == ["\(uuid)"] && silence["active"] as? Bool == true && silence["all"] as? Bool == false)
            #expect(silence["until"] as? String == "2099-01-01T00:00:00.000000Z" && silence["comment"] as? String == "database upgrade")
            // Answered once this collector holds it: the next live read shows the application silenced.
            let live = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))
            #expect(live["silence_id"] as? Int == id)
            #expect(try httpRequest(port: running.port, "/apps/\(uuid)").text.contains("by silence \(id)"))
            #expect(try httpRequest(port: running.port, "/").text.contains("<span class=\"muted silenced\">silenced</span>"))

            let recurring = try object(try call(
                running, "POST", "/v1/silences", #"{"labels":{"team":"db"},"cron":"0 2 * * 0","duration_ms":7200000,"time_zone":"Europe/Berlin"}"#))
            #expect(recurring["cron"] as? String == "0 2 * * 0" && recurring["time_zone"] as? String == "Europe/Berlin")
            #expect(recurring["duration_ms"] as? Int == 7_200_000 && recurring["next_start"] is String && recurring["until"] is NSNull)
            let list = try object(try call(running, "GET", "/v1/silences"))["silences"] as? [[String: Any]]
            #expect(list?.compactMap { $0["id"] as? Int } == [id, recurring["id"] as? Int].compactMap { $0 })
            #expect(try object(try call(running, "GET", "/v1/silences/\(id)"))["comment"] as? String == "database upgrade")

            #expect(try call(running, "DELETE", "/v1/silences/\(id)").status == 204)
            #expect(try call(running, "GET", "/v1/silences/\(id)").status == 404)
            #expect(try call(running, "DELETE", "/v1/silences/\(id)").status == 404)
            #expect(try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))["silence_id"] is NSNull, "deleting ends it at once")
            #expect(try call(running, "GET", "/v1/silences/abc").status == 400)
        }
    }

    @Test("bad requests are 400s naming the field", arguments: [
        (#"{"until":"2099-01-01T00:00:00Z"}"#, "selector"),
        (#"{"all":true,"name_prefix":"db","until":"2099-01-01T00:00:00Z"}"#, "selector"),
        (#"{"all":false,"until":"2099-01-01T00:00:00Z"}"#, "all"),
        (#"{"all":true}"#, "until"),
        (#"{"all":true,"until":"2001-01-01T00:00:00Z"}"#, "until"),
        (#"{"all":true,"until":"tomorrow"}"#, "until"),
        (#"{"all":true,"until":"1700000000"}"#, "until"),
        (#"{"apps":["nope"],"until":"2099-01-01T00:00:00Z"}"#, "apps"),
        (#"{"all":true,"cron":"0 2 * * 0"}"#, "duration_ms"),
        (#"{"all":true,"cron":"61 2 * * 0","duration_ms":60000}"#, "cron"),
        (#"{"all":true,"cron":"0 2 * * 0","duration_ms":60000,"time_zone":"Nowhere"}"#, "time_zone"),
        (#"{"all":true,"until":"2099-01-01T00:00:00Z","colour":"red"}"#, "colour"),
        (#"{"all":true,"until":null}"#, "until"),
    ])
    func refused(body: String, field: String) async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let answer = try call(running, "POST", "/v1/silences", body)
            #expect(answer.status == 400, "\(answer.text)")
            #expect((try object(answer)["message"] as? String)?.contains(field) == true, "\(answer.text)")
            #expect(try running.connection.query("SELECT count(*) FROM silence") == [["0"]])
        }
    }
}
