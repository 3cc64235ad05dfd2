import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// HTTP pings through a real collector and PostgreSQL: stored as rows like records (sequence 0),
/// counted per transport with UDP in the same balance, never counted as lost, and a signed
/// application's ping key from creation and rotation opening it.
@Suite("HTTP pings end to end", .serialized)
struct PingIntegrationTests {
    static let adminToken = "ping-admin-token-0123456789abcdef"
    static let admin = ["Authorization": "Bearer \(adminToken)", "Content-Type": "application/json"]

    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    /// The value of the sample `series` (name and labels as written) on `/metrics`.
    func metric(_ running: RunningSidecar, _ series: String) throws -> UInt64 {
        let page = try httpRequest(port: running.port, "/metrics").text
        let line = try #require(page.split(separator: "\n").first { $0.hasPrefix(series + " ") }, "\(series)")
        return try #require(UInt64(line.split(separator: " ").last!))
    }

    @Test("pings and UDP records land in one table and one balance; pings are not loss; 404 for an unknown application")
    func storedAndCounted() async throws {
        try await RunningSidecar.with { running in
            let uuid = running.application
            for suffix in ["", "/start", "/success", "/3", "/fail?instance=web-1", "/stop"] {
                #expect(try httpRequest(port: running.port, "/ping/\(uuid)\(suffix)").status == 200, "\(suffix)")
            }
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)", method: "POST", body: Array("job output".utf8)).status == 200)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)", method: "HEAD").status == 200)
            #expect(try httpRequest(port: running.port, "/ping/\(ApplicationUUID.random())").status == 404)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)/reboot").status == 400)
            let sender = UDPSender(port: running.pipeline.udpPort)
            for sequence in [1, 2, 4] {  // 3 is lost
                var record = HeartbeatRecord(
                    kind: .beat, application: uuid, instance: 9, sequence: UInt64(sequence), sentAtMicros: Int64(Date().timeIntervalSince1970 * 1e6), intervalMillis: 0, status: 0)
                var bytes = [UInt8](repeating: 0, count: 64)
                bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
                sender.send(bytes)
            }
            #expect(try running.waitFor(10) { try running.connection.query("SELECT count(*) FROM heartbeat_event").first?.first == "11" })
            let pings = try running.connection.query(
                "SELECT kind, status, instance <> 0 FROM heartbeat_event WHERE seq = 0 ORDER BY received_at, kind")
            #expect(pings.map { $0[0] } == ["0", "1", "2", "3", "3", "4", "0", "0"], "\(pings)")
            #expect(pings.map { $0[1] } == ["0", "0", "0", "3", "1", "0", "0", "0"])
            #expect(pings.map { $0[2] } == ["f", "f", "f", "f", "t", "f", "f", "f"])
            #expect(try running.waitFor(5) {
                let loss = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/loss"))
                return loss["records_lost_last_hour"] as? Int == 1 && (loss["records"] as? [String: Any])?["total"] as? Int == 11
            }, "seq 3 of the UDP instance; pings carry no sequence")

            let ping = (received: try metric(running, #"heartbeat_transport_records_received_total{transport="http_ping"}"#),
                        accepted: try metric(running, #"heartbeat_transport_records_accepted_total{transport="http_ping"}"#))
            #expect(ping.received == 10 && ping.accepted == 8)
            #expect(try metric(running, #"heartbeat_transport_records_rejected_total{transport="http_ping",reason="unknown_app"}"#) == 1)
            #expect(try metric(running, #"heartbeat_transport_records_rejected_total{transport="http_ping",reason="malformed"}"#) == 1)
            #expect(try metric(running, #"heartbeat_transport_records_received_total{transport="udp"}"#) == 3)
            #expect(try metric(running, #"heartbeat_transport_records_accepted_total{transport="udp"}"#) == 3)
            #expect(try metric(running, "heartbeat_records_received_total") == 13 && metric(running, "heartbeat_records_accepted_total") == 11)
            let snapshot = running.pipeline.statistics
            #expect(snapshot.isBalanced && IngestTransport.allCases.allSatisfy { snapshot.byTransport[$0]?.isBalanced == true }, "\(snapshot)")
        }
    }

    @Test("a signed application: the ping key from creation opens it, none is 401, a wrong one 403; after rotation both keys work for the grace period")
    func signedApplication() async throws {
        try await RunningSidecar.with(adminToken: Self.adminToken) { running in
            let created = try object(try httpRequest(
                port: running.port, "/v1/apps", method: "POST", headers: Self.admin, body: Array(#"{"name":"signed pinger","signed":true}"#.utf8)))
            let uuid = try #require(created["uuid"] as? String)
            let secret = try ApplicationSecret(hex: try #require(created["secret"] as? String))
            let key = try #require(created["ping_key"] as? String)
            #expect(key == PingKey.hex(for: secret))
            let missing = try httpRequest(port: running.port, "/ping/\(uuid)")
            #expect(missing.status == 401 && missing.headers["www-authenticate"] != nil)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)", headers: ["Authorization": "Bearer \(String(repeating: "0", count: 32))"]).status == 403)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)", headers: ["Authorization": "Bearer \(secret.hexString)"]).status == 403, "the secret itself is not the key")
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)/start", headers: ["Authorization": "Bearer \(key)"]).status == 200)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)/success?key=\(key)").status == 200)
            #expect(try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)"))["ping_key"] == nil, "shown only with the secret")

            let rotated = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/rotate-secret", method: "POST", headers: Self.admin))
            let newKey = try #require(rotated["ping_key"] as? String)
            #expect(newKey == PingKey.hex(for: try ApplicationSecret(hex: try #require(rotated["secret"] as? String))) && newKey != key)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)", headers: ["Authorization": "Bearer \(newKey)"]).status == 200)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)", headers: ["Authorization": "Bearer \(key)"]).status == 200, "the previous key during the grace period")
            #expect(try metric(running, #"heartbeat_transport_records_rejected_total{transport="http_ping",reason="auth"}"#) == 3)
        }
    }

    @Test("over the application's budget a ping is 429 with Retry-After, counted rate_limited; UDP records keep their own budget")
    func rateLimited() async throws {
        try await RunningSidecar.with(configure: { $0.appRateLimit = 1; $0.appBurst = 2 }) { running in
            let uuid = running.application
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)").status == 200)
            #expect(try httpRequest(port: running.port, "/ping/\(uuid)").status == 200)
            let limited = try httpRequest(port: running.port, "/ping/\(uuid)")
            #expect(limited.status == 429 && limited.headers["retry-after"] == "1", "\(limited.status) \(limited.headers)")
            #expect(try metric(running, #"heartbeat_transport_records_rejected_total{transport="http_ping",reason="rate_limited"}"#) == 1)
        }
    }

    static let provisionKey = "provision-key-0123456789abcdef"

    @Test("provisioning: off by default (404 saying so); with the key, ?create=1 makes an unsigned application named and timed by the ping, within the per-minute budget and the cap")
    func provisioning() async throws {
        try await RunningSidecar.with { running in
            let uuid = ApplicationUUID.random()
            let off = try httpRequest(port: running.port, "/ping/\(uuid)?create=1&name=x&key=\(Self.provisionKey)")
            #expect(off.status == 404 && off.text.contains("?create=1 is off"), "\(off.text)")
            #expect(try running.connection.query("SELECT count(*) FROM application WHERE uuid = '\(uuid)'") == [["0"]])
            #expect(try metric(running, #"heartbeat_ping_provisioning_total{outcome="off"}"#) == 1)
        }
        let settings = PingProvisioningSettings(key: Self.provisionKey, perMinute: 2, maximum: 3)
        try await RunningSidecar.with(provisioning: settings) { running in
            let (first, second, third) = (ApplicationUUID.random(), ApplicationUUID.random(), ApplicationUUID.random())
            let key = ["Authorization": "Bearer \(Self.provisionKey)"]
            #expect(try httpRequest(port: running.port, "/ping/\(first)?create=1&name=nightly").status == 403, "no key")
            #expect(try httpRequest(port: running.port, "/ping/\(first)?create=1&name=nightly", headers: ["Authorization": "Bearer wrong-key-0123456789"]).status == 403)
            let invalid = try httpRequest(port: running.port, "/ping/\(first)?create=1&name=nightly&interval=soon", headers: key)
            #expect(invalid.status == 400 && invalid.text.contains("interval"), "\(invalid.text)")
            #expect(try httpRequest(port: running.port, "/ping/\(first)?create=1", headers: key).text.contains("name: required"))
            let created = try httpRequest(port: running.port, "/ping/\(first)/start?create=1&name=nightly%20backup&interval=90s&grace=15m", headers: key)
            #expect(created.status == 200, "\(created.text)")
            #expect(try running.connection.query(
                "SELECT name, interval_ms, grace_ms, provisioned, secret IS NULL FROM application WHERE uuid = '\(first)'") == [["nightly backup", "90000", "900000", "t", "t"]])
            #expect(try running.waitFor(5) { try running.connection.query("SELECT kind FROM heartbeat_event WHERE seq = 0") == [["1"]] }, "the creating ping itself is taken")
            #expect(try httpRequest(port: running.port, "/ping/\(first)?create=1&name=other", headers: key).status == 200, "an existing application is just pinged")
            #expect(try running.connection.query("SELECT name FROM application WHERE uuid = '\(first)'") == [["nightly backup"]])
            let scheduled = try httpRequest(port: running.port, "/ping/\(second)?create=1&name=weekly&cron=0%203%20*%20*%201&tz=Europe/Berlin&key=\(Self.provisionKey)")
            #expect(scheduled.status == 200, "\(scheduled.text)")
            #expect(try running.connection.query("SELECT schedule_cron, schedule_time_zone, interval_ms FROM application WHERE uuid = '\(second)'") == [["0 3 * * 1", "Europe/Berlin", nil]])
            let overBudget = try httpRequest(port: running.port, "/ping/\(third)?create=1&name=third", headers: key)
            #expect(overBudget.status == 429 && Int(overBudget.headers["retry-after"] ?? "") ?? 0 > 0, "2 a minute: \(overBudget.text)")
            for (outcome, count) in [("created", 2), ("forbidden", 2), ("invalid", 2), ("over_budget", 1)] {
                #expect(try metric(running, "heartbeat_ping_provisioning_total{outcome=\"\(outcome)\"}") == UInt64(count), "\(outcome)")
            }
        }
        try await RunningSidecar.with(provisioning: PingProvisioningSettings(key: Self.provisionKey, perMinute: 100, maximum: 1)) { running in
            #expect(try httpRequest(port: running.port, "/ping/\(ApplicationUUID.random())?create=1&name=one&key=\(Self.provisionKey)").status == 200)
            let capped = try httpRequest(port: running.port, "/ping/\(ApplicationUUID.random())?create=1&name=two&key=\(Self.provisionKey)")
            #expect(capped.status == 403 && capped.text.contains("--auto-register-max"), "\(capped.text)")
        }
    }
}
