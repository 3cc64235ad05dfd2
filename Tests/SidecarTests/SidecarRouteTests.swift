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

    /// A registry of two applications (one with a name that needs escaping) and a view where the
    /// first is up, as the fake collector's live status.
    @discardableResult
    static func liveFixture(_ collector: FakeCollector, view source: LivenessView.Source = .monitor, sequence: UInt64 = 2) -> [ApplicationUUID] {
        let uuids = [ApplicationUUID.random(), ApplicationUUID.random()]
        let profiles = ApplicationProfiles([
            ApplicationProfile(applicationID: 1, uuid: uuids[0], name: "web", intervalMillis: 10_000, graceMillis: 5_000, createdAtMicros: 1_000_000),
            ApplicationProfile(applicationID: 2, uuid: uuids[1], name: "say \"hi\"\n\\ back", intervalMillis: 60_000, graceMillis: 0, maxRunMillis: 900),
        ])
        let registry = RegistrySnapshot(
            version: 3, applications: uuids.enumerated().map { ApplicationDescriptor(uuid: $1, applicationID: Int64($0 + 1)) }, allowedSkewMicros: 0,
            profiles: profiles)
        var views = LivenessViewHolder(LivenessView(source: source, role: .leader, takenAtMicros: 9_000_000, sequence: sequence, registryVersion: 3))
        let up = LivenessView.Entry(status: .up, sinceMicros: 2_000_000, lastArrivalMicros: 8_000_000, nextDeadlineMicros: 18_000_000, lastRun: nil)
        views = LivenessViewHolder(LivenessView(views.view, overriding: [1: up], role: .leader, takenAtMicros: 9_000_000, sequence: sequence))
        collector.setLive(LiveStatus(registry: registry, view: views.view))
        return uuids
    }

    @Test("live reads answer from the collector's memory: fields, escaping, summary, pages; 503 before the first view and without a monitor")
    func liveReads() async throws {
        let collector = FakeCollector()
        let uuids = Self.liveFixture(collector)
        try await Self.serve(collector) { port in
            let answer = try httpRequest(port: port, "/v1/apps/\(uuids[0])")
            #expect(answer.status == 200 && answer.headers["cache-control"] == "no-cache")
            #expect(answer.headers["heartbeat-view-at"] == "1970-01-01T00:00:09.000000Z")
            let web = Self.object(answer)
            #expect(web["status"] as? String == "up" && web["view"] as? String == "shared" && web["name"] as? String == "web")
            #expect(web["since"] as? String == "1970-01-01T00:00:02.000000Z" && web["last_heartbeat"] as? String == "1970-01-01T00:00:08.000000Z")
            #expect(web["next_deadline"] as? String == "1970-01-01T00:00:18.000000Z" && web["created_at"] as? String == "1970-01-01T00:00:01.000000Z")
            #expect(web["interval_ms"] as? Int == 10_000 && web["max_run_ms"] is NSNull && web["last_run_ms"] is NSNull)
            let other = Self.object(try httpRequest(port: port, "/v1/apps/\(uuids[1])"))
            #expect(other["name"] as? String == "say \"hi\"\n\\ back", "a name with quotes, a newline and a backslash survives JSON")
            #expect(other["status"] as? String == "new" && other["max_run_ms"] as? Int == 900 && other["since"] is NSNull)
            #expect(try httpRequest(port: port, "/v1/apps/\(ApplicationUUID.random())").status == 404)
            let summary = Self.object(try httpRequest(port: port, "/v1/summary"))
            #expect(summary["up"] as? Int == 1 && summary["new"] as? Int == 1 && summary["total"] as? Int == 2 && summary["view"] as? String == "shared")
            let page = Self.object(try httpRequest(port: port, "/v1/apps?state=new"))
            #expect((page["apps"] as? [[String: Any]])?.map { $0["uuid"] as? String } == ["\(uuids[1])"] && page["next_cursor"] is NSNull)
            let first = Self.object(try httpRequest(port: port, "/v1/apps?limit=1"))
            #expect(first["next_cursor"] as? String == "1")

            Self.liveFixture(collector, sequence: 0)
            let starting = try httpRequest(port: port, "/v1/summary")
            #expect(starting.status == 503 && Self.object(starting)["error"] as? String == "starting" && starting.headers["retry-after"] == "1")
            Self.liveFixture(collector, view: .lastSeenOnly)
            let unmonitored = try httpRequest(port: port, "/v1/apps/\(uuids[0])")
            #expect(unmonitored.status == 503 && Self.object(unmonitored)["error"] as? String == "no_monitor")
        }
    }

    @Test("HEAD works wherever GET does, with GET's status and headers and no body; a known path with another method is 405 with Allow")
    func methods() async throws {
        let collector = FakeCollector()
        let uuids = Self.liveFixture(collector)
        try await Self.serve(collector) { port in
            for path in ["/healthz", "/v1/summary", "/v1/apps/\(uuids[0])", "/metrics"] {
                let get = try httpRequest(port: port, path)
                let head = try httpRequest(port: port, path, method: "HEAD")
                #expect(head.status == get.status && head.body.isEmpty, "\(path)")
                #expect(head.headers["etag"] == get.headers["etag"] && head.headers["content-type"] == get.headers["content-type"], "\(path)")
            }
            let wrong = try httpRequest(port: port, "/v1/summary", method: "DELETE")
            #expect(wrong.status == 405 && wrong.headers["allow"] == "GET, HEAD" && Self.object(wrong)["error"] as? String == "method_not_allowed")
            let app = try httpRequest(port: port, "/v1/apps/\(uuids[0])", method: "PUT")
            #expect(app.status == 405 && app.headers["allow"] == "DELETE, GET, HEAD, PATCH")
            #expect(try httpRequest(port: port, "/v1/apps", method: "DELETE").headers["allow"] == "GET, HEAD, POST")
            #expect(try httpRequest(port: port, "/v1/nothing", method: "DELETE").status == 404)
        }
    }

    @Test("/metrics/apps is 404 unless enabled; enabled, it has one-hot states, up and last-seen per application, labels escaped")
    func applicationMetrics() async throws {
        let collector = FakeCollector()
        let uuids = Self.liveFixture(collector)
        try await Self.serve(collector) { port in
            let off = try httpRequest(port: port, "/metrics/apps")
            #expect(off.status == 404 && off.text.contains("--app-metrics"))
        }
        let sidecar = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, applicationMetrics: true)
        try sidecar.start()
        let page = try httpRequest(port: sidecar.port, "/metrics/apps").text
        await sidecar.shutdown()
        let web = "uuid=\"\(uuids[0])\",name=\"web\""
        #expect(page.contains("heartbeat_app_up{\(web)} 1\n"))
        #expect(page.contains("heartbeat_app_status{\(web),state=\"up\"} 1\n") && page.contains("heartbeat_app_status{\(web),state=\"down\"} 0\n"))
        #expect(page.contains("heartbeat_app_last_seen_timestamp_seconds{\(web)} 8\n"))
        let other = "uuid=\"\(uuids[1])\",name=\"say \\\"hi\\\"\\n\\\\ back\""
        #expect(page.contains("heartbeat_app_up{\(other)} 0\n"), "\(page)")
        #expect(!page.contains("heartbeat_app_last_seen_timestamp_seconds{\(other)}"), "never seen: no sample")
        #expect(page.components(separatedBy: "heartbeat_app_status{").count - 1 == 2 * LivenessStatus.allCases.count)
        // Spec/metrics.md's section on this page names exactly its families.
        let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Spec/metrics.md")
        let section = try String(contentsOf: specURL, encoding: .utf8).components(separatedBy: "## Per-application series")[1]
        let documented = Set(section.split(separator: "\n").filter { $0.hasPrefix("| `heartbeat_") }.compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) })
        let exported = Set(page.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        #expect(documented == exported && exported.count == 3, "documented \(documented.sorted()), exported \(exported.sorted())")
    }
}
