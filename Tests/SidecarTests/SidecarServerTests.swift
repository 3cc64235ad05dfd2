import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// The HTTP sidecar against a running collector pipeline (real PostgreSQL, real sockets).
@Suite("HTTP sidecar: health, readiness, metrics", .serialized)
struct SidecarServerTests {
    @Test("/healthz answers 200 at once; /readyz answers 200 once PostgreSQL has answered, naming each dependency")
    func healthAndReady() async throws {
        try await RunningSidecar.with { running in
            let health = try httpRequest(port: running.port, "/healthz")
            #expect(health.status == 200 && health.text == #"{"status":"ok"}"#)
            #expect(health.headers["content-type"] == "application/json")
            #expect(try running.waitFor(5) { try httpRequest(port: running.port, "/readyz").status == 200 })
            let ready = try httpRequest(port: running.port, "/readyz")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(ready.body)) as? [String: Any])
            #expect(body["ready"] as? Bool == true)
            #expect(body["postgres"] as? String == "up")
            #expect(body["redis"] as? String == "not_configured")
            #expect(body["monitor"] as? String == "alone")
            #expect((body["down"] as? [String]) == [])
        }
    }

    @Test("/readyz answers 503 naming Redis when the configured Redis does not answer, and PostgreSQL when it refuses")
    func notReady() async throws {
        try await RunningSidecar.with(configure: { $0.redisURL = "redis://127.0.0.1:1" }) { running in
            #expect(try running.waitFor(5) { try httpRequest(port: running.port, "/readyz").text.contains(#""postgres":"up""#) })
            let redisDown = try httpRequest(port: running.port, "/readyz")
            #expect(redisDown.status == 503)
            #expect(redisDown.text.contains(#""down":["redis"]"#), "\(redisDown.text)")
            // PostgreSQL refuses connections to this database from now on.
            let administration = try PostgresConnection(url: serviceURL("HEARTBEAT_DATABASE_URL"))
            try administration.query("ALTER DATABASE \(running.database.name) ALLOW_CONNECTIONS false")
            try administration.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(running.database.name)'")
            defer { _ = try? administration.query("ALTER DATABASE \(running.database.name) ALLOW_CONNECTIONS true") }
            #expect(try running.waitFor(6) { try httpRequest(port: running.port, "/readyz").text.contains(#""down":["postgres","redis"]"#) })
            #expect(try httpRequest(port: running.port, "/readyz").status == 503)
        }
    }

    @Test("/metrics: Prometheus text that a Prometheus parser accepts, with the ingest counters moving")
    func metrics() async throws {
        try await RunningSidecar.with { running in
            let sender = UDPSender(port: running.pipeline.udpPort)
            for sequence in 1...5 {
                var record = HeartbeatRecord(kind: .beat, application: running.application, instance: 1, sequence: UInt64(sequence), sentAtMicros: Int64(Date().timeIntervalSince1970 * 1e6), intervalMillis: 1_000, status: 0)
                var bytes = [UInt8](repeating: 0, count: 64)
                bytes.withUnsafeMutableBytes { record.encodeSigned(with: nil, to: $0.baseAddress!) }
                sender.send(bytes)
            }
            sender.send([UInt8](repeating: 0, count: 64))  // malformed: no magic
            #expect(try running.waitFor(5) { try httpRequest(port: running.port, "/metrics").text.contains("heartbeat_rows_stored_total 5\n") })
            let page = try httpRequest(port: running.port, "/metrics")
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            for line in [
                "heartbeat_records_received_total 6", "heartbeat_records_accepted_total 5", #"heartbeat_records_rejected_total{reason="malformed"} 1"#,
                #"heartbeat_records_rejected_total{reason="replay"} 0"#, "heartbeat_postgres_up 1", #"heartbeat_receive_to_commit_seconds_bucket{le="+Inf"} 5"#,
                "heartbeat_receive_to_commit_seconds_count 5", "# TYPE heartbeat_monitor_check_seconds histogram",
                "# TYPE heartbeat_detection_delay_seconds histogram", "# TYPE heartbeat_records_received_total counter",
            ] {
                #expect(page.text.contains(line + "\n"), "missing: \(line)")
            }
            // An independent parser: the Prometheus project's Python client (Debian python3-prometheus-client).
            let parsed = try runProcess(
                URL(fileURLWithPath: "/usr/bin/python3"),
                ["-c", "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as parse\nfor family in parse(sys.argv[1]): print(family.name, family.type, len(family.samples))", page.text])
            #expect(parsed.status == 0, "\(parsed.standardError)")
            #expect(parsed.standardOutput.contains("heartbeat_records_rejected counter \(RejectionReason.allCases.count)"), "\(parsed.standardOutput)")
            #expect(parsed.standardOutput.contains("heartbeat_receive_to_commit_seconds histogram"))
        }
    }

    @Test("Spec/metrics.md documents exactly the metric families /metrics exports")
    func documented() async throws {
        // With a read replica configured (one that never answers), so that its families are exported too.
        try await RunningSidecar.with(configure: { $0.databaseReadURL = "postgresql://heartbeat@127.0.0.1:1/none?connect_timeout=1" }) { running in
            let page = try httpRequest(port: running.port, "/metrics").text
            let exported = Set(page.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
            let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Spec/metrics.md")
            // The per-application page has a section of its own (checked in SidecarRouteTests).
            let spec = try String(contentsOf: specURL, encoding: .utf8).components(separatedBy: "## Per-application series")[0]
            let documented = Set(spec.split(separator: "\n").filter { $0.hasPrefix("| `heartbeat_") }.compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) })
            #expect(exported.count > 40)
            #expect(exported.subtracting(documented).isEmpty, "exported, not documented: \(exported.subtracting(documented).sorted())")
            #expect(documented.subtracting(exported).isEmpty, "documented, not exported: \(documented.subtracting(exported).sorted())")
        }
    }

    @Test("Spec/openapi.yaml documents exactly the routes the server registers")
    func openAPI() async throws {
        try await RunningSidecar.with { running in
            let registered = SidecarServer.registeredRoutes(collector: running.pipeline)
            let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Spec/openapi.yaml")
            // An independent YAML reader (Debian python3-yaml, installed by scripts/services).
            let listed = try runProcess(
                URL(fileURLWithPath: "/usr/bin/python3"),
                ["-c", "import sys, yaml\nspec = yaml.safe_load(open(sys.argv[1]))\nfor path, item in spec['paths'].items():\n    for method in item:\n        if method != 'parameters': print(method.upper(), path)", specURL.path])
            #expect(listed.status == 0, "\(listed.standardError)")
            let documented = listed.standardOutput.split(separator: "\n").map(String.init).sorted()
            #expect(registered.count >= 16)
            #expect(Set(registered).subtracting(documented).isEmpty, "registered, not documented: \(Set(registered).subtracting(documented).sorted())")
            #expect(Set(documented).subtracting(registered).isEmpty, "documented, not registered: \(Set(documented).subtracting(registered).sorted())")
        }
    }

    @Test("an HTTP port already taken is a start-up error, not a silent sidecar-less collector")
    func portTaken() async throws {
        try await RunningSidecar.with { running in
            let second = SidecarServer(collector: running.pipeline, host: "127.0.0.1", port: running.port)
            #expect {
                try second.start()
            } throws: { error in
                // In words like the UDP receivers', not NIO's "bind(descriptor:ptr:bytes:) … (errno: 98)".
                "\(error)" == "HTTP 127.0.0.1:\(running.port) is not free: another process (a collector still running?) already listens there; stop it, or choose another --http address (port 0 picks a free one)"
            }
        }
    }
}
