import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// `down_after`, `up_after` and `remind_every_ms` through `/v1/apps`, over real HTTP and PostgreSQL.
@Suite("HTTP sidecar: thresholds and reminder period", .serialized)
struct NoiseSettingsAPITests {
    static let token = "noise-admin-token-0123456789"
    static let admin = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]

    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    func call(_ running: RunningSidecar, _ method: String, _ path: String, _ json: String = "") throws -> HTTPResult {
        try httpRequest(port: running.port, path, method: method, headers: Self.admin, body: Array(json.utf8))
    }

    @Test("set at creation, changed by PATCH (null follows the default again), shown by live reads; defaults 1, 1, null")
    func roundTrip() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let plain = try object(try call(running, "POST", "/v1/apps", #"{"name":"plain"}"#))
            #expect(plain["down_after"] as? Int == 1 && plain["up_after"] as? Int == 1 && plain["remind_every_ms"] is NSNull)
            let created = try object(try call(running, "POST", "/v1/apps", #"{"name":"flaky","down_after":3,"up_after":2,"remind_every_ms":60000}"#))
            let uuid = try #require(created["uuid"] as? String)
            #expect(created["down_after"] as? Int == 3 && created["up_after"] as? Int == 2 && created["remind_every_ms"] as? Int == 60_000)
            #expect(try running.waitFor(5) {
                let live = (try? object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))) ?? [:]
                return live["down_after"] as? Int == 3 && live["up_after"] as? Int == 2 && live["remind_every_ms"] as? Int == 60_000
            }, "live reads show the registry's values")
            let patched = try object(try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"down_after":5,"remind_every_ms":null}"#))
            #expect(patched["down_after"] as? Int == 5 && patched["up_after"] as? Int == 2 && patched["remind_every_ms"] is NSNull)
            #expect(try object(try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"remind_every_ms":0}"#))["remind_every_ms"] as? Int == 0)
            #expect(try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"down_after":null}"#).status == 400, "only remind_every_ms may be null")
        }
    }

    @Test("min_instances: 1 by default, set at creation and by PATCH, shown by live reads")
    func minInstances() async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let plain = try object(try call(running, "POST", "/v1/apps", #"{"name":"plain"}"#))
            #expect(plain["min_instances"] as? Int == 1)
            let created = try object(try call(running, "POST", "/v1/apps", #"{"name":"web","min_instances":3}"#))
            let uuid = try #require(created["uuid"] as? String)
            #expect(created["min_instances"] as? Int == 3)
            #expect(try object(try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"min_instances":2}"#))["min_instances"] as? Int == 2)
            #expect(try running.waitFor(5) {
                ((try? object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))) ?? [:])["min_instances"] as? Int == 2
            }, "live reads show the registry's value")
            #expect(try call(running, "PATCH", "/v1/apps/\(uuid)", #"{"min_instances":null}"#).status == 400)
        }
    }

    @Test("out-of-range values are 400s naming the field, and change nothing", arguments: [
        (#"{"down_after":0}"#, "down_after"), (#"{"down_after":1001}"#, "down_after"), (#"{"up_after":0}"#, "up_after"),
        (#"{"remind_every_ms":999}"#, "remind_every_ms"), (#"{"remind_every_ms":-1}"#, "remind_every_ms"), (#"{"down_after":"3"}"#, "down_after"),
        (#"{"min_instances":0}"#, "min_instances"), (#"{"min_instances":1001}"#, "min_instances"),
    ])
    func refused(body: String, field: String) async throws {
        try await RunningSidecar.with(adminToken: Self.token) { running in
            let answer = try call(running, "PATCH", "/v1/apps/\(running.application)", body)
            #expect(answer.status == 400, "\(answer.text)")
            #expect((try object(answer)["message"] as? String)?.contains(field) == true, "\(answer.text)")
            #expect(try running.connection.query("SELECT down_after, up_after, remind_every_ms FROM application") == [["1", "1", nil]])
        }
    }
}
