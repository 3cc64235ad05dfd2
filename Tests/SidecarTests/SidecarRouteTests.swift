import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// The sidecar's own routes against a ``FakeCollector``: what they answer depends only on the
/// collector's snapshot and gate, so no PostgreSQL, UDP or collector threads are involved.
@Suite("Sidecar routes against a fake collector")
struct SidecarRouteTests {
    /// Runs `body` with a sidecar serving `collector` on a free port, and stops it afterwards.
    static func serve(
        _ collector: FakeCollector, readToken: String? = nil, _ body: (Int) async throws -> Void
    ) async throws {
        let sidecar = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, readToken: readToken)
        try sidecar.start()
        do {
            try await body(sidecar.port)
        } catch {
            await sidecar.shutdown()
            throw error
        }
        await sidecar.shutdown()
    }

    static func object(_ result: HTTPResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(result.body))) as? [String: Any] ?? [:]
    }

    /// A healthy snapshot: PostgreSQL up, storage flowing, no Redis.
    static func healthy(_ snapshot: inout CollectorSnapshot) {
        snapshot.postgresUp = true
        snapshot.monitor.role = "alone"
    }

    /// (what the snapshot says, the status /readyz answers, what it names as down, the monitor's role).
    static let readinessCases: [(String, @Sendable (inout CollectorSnapshot) -> Void, Int, [String], String)] = [
        ("all up, no Redis", { healthy(&$0) }, 200, [], "alone"),
        ("PostgreSQL down", { $0.postgresUp = false; $0.monitor.role = "alone" }, 503, ["postgres"], "alone"),
        ("storage stalled", { healthy(&$0); $0.storage.stalled = true }, 503, ["storage"], "alone"),
        ("Redis configured and up, leading", {
            healthy(&$0); $0.hotState.configured = true; $0.hotState.redisUp = true; $0.monitor.role = "leader"
        }, 200, [], "leader"),
        ("Redis configured and down, degraded", {
            healthy(&$0); $0.hotState.configured = true; $0.hotState.redisUp = false; $0.monitor.role = "degraded"
        }, 503, ["redis"], "degraded"),
        ("Redis not configured but unreachable flag: not counted", { healthy(&$0); $0.hotState.redisUp = false }, 200, [], "alone"),
        ("everything down", {
            $0.postgresUp = false; $0.storage.stalled = true; $0.hotState.configured = true; $0.monitor.role = "follower"
        }, 503, ["postgres", "storage", "redis"], "follower"),
        ("monitor off", { healthy(&$0); $0.monitor.role = "off" }, 200, [], "off"),
    ]

    @Test("/readyz follows the snapshot: 200 only when nothing is down, and names what is")
    func readiness() async throws {
        let collector = FakeCollector()
        try await Self.serve(collector) { port in
            for (name, change, status, down, role) in Self.readinessCases {
                collector.set { $0 = CollectorSnapshot(); change(&$0) }
                let answer = try httpRequest(port: port, "/readyz")
                let body = Self.object(answer)
                #expect(answer.status == status, "\(name)")
                #expect(body["down"] as? [String] == down, "\(name)")
                #expect(body["monitor"] as? String == role, "\(name)")
                #expect(body["ready"] as? Bool == down.isEmpty, "\(name)")
            }
            #expect(try httpRequest(port: port, "/healthz").status == 200)
        }
    }

    @Test("/metrics and /v1/collector show the snapshot's figures; /v1/collector needs the read token when one is set")
    func figures() async throws {
        let collector = FakeCollector()
        collector.set { snapshot in
            Self.healthy(&snapshot)
            snapshot.ingest.recordsReceived = 1_234
            snapshot.ingest.recordsAccepted = 1_200
            snapshot.ingest.rejected[.authentication] = 34
            snapshot.ingest.rowsStored = 1_200
            snapshot.registry.applications = 7
            snapshot.storage.flushSeconds = HistogramSnapshot(bounds: [0.01, 0.1], bucketCounts: [3, 1, 0], sum: 0.07)
        }
        let token = "read-token-of-sixteen-bytes"
        try await Self.serve(collector, readToken: token) { port in
            let bearer = ["Authorization": "Bearer \(token)"]
            #expect(try httpRequest(port: port, "/v1/collector").status == 401)
            #expect(try httpRequest(port: port, "/v1/collector", headers: ["Authorization": "Bearer wrong-token-of-16-bytes"]).status == 403)
            let answer = try httpRequest(port: port, "/v1/collector", headers: bearer)
            #expect(answer.status == 200)
            #expect(answer.headers["cache-control"] == "no-store")
            let body = Self.object(answer)
            let ingest = body["ingest"] as? [String: Any] ?? [:]
            #expect(ingest["received"] as? Int == 1_234)
            #expect(ingest["accepted"] as? Int == 1_200)
            #expect((ingest["rejected"] as? [String: Int])?["auth"] == 34)
            #expect(ingest["balanced"] as? Bool == true)
            #expect((body["registry"] as? [String: Any])?["applications"] as? Int == 7)
            let flush = (body["storage"] as? [String: Any])?["flush_seconds"] as? [String: Any] ?? [:]
            #expect(flush["count"] as? Int == 4)
            #expect(flush["bucket_counts"] as? [Int] == [3, 1, 0])
            #expect((flush["p50"] as? Double).map { $0 > 0 && $0 <= 0.01 } == true, "two of four observations are at or under 10 ms")

            let metrics = try httpRequest(port: port, "/metrics", headers: bearer).text
            #expect(metrics.contains("heartbeat_records_received_total 1234\n"))
            #expect(metrics.contains("heartbeat_records_rejected_total{reason=\"auth\"} 34\n"))
            #expect(metrics.contains("heartbeat_registry_applications 7\n"))
            #expect(metrics.contains("heartbeat_flush_seconds_count 4\n"))
            // A change of the snapshot shows on the next read: nothing is cached.
            collector.set { $0.ingest.recordsReceived = 1_300 }
            #expect(try httpRequest(port: port, "/metrics", headers: bearer).text.contains("heartbeat_records_received_total 1300\n"))
        }
    }

    @Test("POST /v1/heartbeats hands the records to the collector's gate and answers its counts")
    func httpIngest() async throws {
        let collector = FakeCollector()
        try await Self.serve(collector) { port in
            var good = [UInt8](repeating: 0, count: WireFormat.recordSize)
            good[2] = 1
            var other = good
            other[2] = 9
            let answer = try httpRequest(
                port: port, "/v1/heartbeats", method: "POST", headers: ["Content-Type": "application/octet-stream"], body: good + other + good)
            #expect(answer.status == 202)
            let body = Self.object(answer)
            #expect(body["received"] as? Int == 3)
            #expect(body["accepted"] as? Int == 2)
            #expect((body["rejected"] as? [String: Int])?["version"] == 1)
            #expect(collector.submissions == [good + other + good])
            // A body that is not whole records never reaches the gate.
            let torn = try httpRequest(
                port: port, "/v1/heartbeats", method: "POST", headers: ["Content-Type": "application/octet-stream"], body: Array(good.prefix(63)))
            #expect(torn.status == 400)
            #expect(collector.submissions.count == 1)
        }
    }
}
