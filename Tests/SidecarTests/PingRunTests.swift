import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// Job runs through HTTP pings, against a real collector and PostgreSQL: a start pairs with its end
/// (by `rid` when runs overlap), a POST body is the run's output (the last 100 KiB, with a marker
/// beyond), the runs API lists and returns them, the per-application cap deletes the oldest, and a
/// failing run's output reaches a webhook as `log_tail`.
@Suite("HTTP pings: job runs and their output", .serialized)
struct PingRunTests {
    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    func runs(_ running: RunningSidecar, _ query: String = "") throws -> [[String: Any]] {
        usleep(1_100_000)  // past the history cache's second
        let answer = try object(try httpRequest(port: running.port, "/v1/apps/\(running.application)/runs\(query)"))
        return try #require(answer["runs"] as? [[String: Any]])
    }

    @Test("overlapping runs pair by rid; an end with no open run is a run of its own; output is stored, truncated beyond 100 KiB with a marker")
    func pairingAndOutput() async throws {
        try await RunningSidecar.with { running in
            let base = "/ping/\(running.application)"
            #expect(try httpRequest(port: running.port, "\(base)/start?rid=a").text == "OK\n")
            #expect(try httpRequest(port: running.port, "\(base)/start?rid=b").status == 200)
            #expect(try httpRequest(port: running.port, "\(base)/0?rid=b", method: "POST", body: Array("b done\n".utf8)).status == 200)
            let big = Array(repeating: UInt8(ascii: "x"), count: 150 * 1_024) + Array("\nthe end: disk full\n".utf8)
            #expect(try httpRequest(port: running.port, "\(base)/3?rid=a", method: "POST", body: big).status == 200)
            #expect(try httpRequest(port: running.port, "\(base)/success", method: "POST", body: [0x6f, 0x6b, 0x00, 0xff, 0x0a]).status == 200)
            #expect(try httpRequest(port: running.port, "\(base)/log", method: "POST", body: Array("just a <b>note</b>".utf8)).status == 200)
            #expect(try httpRequest(port: running.port, "\(base)/start?rid=bad/id").status == 400)

            let listed = try runs(running)
            #expect(listed.map { $0["outcome"] as? String } == ["log", "success", "success", "fail"], "newest first: \(listed)")
            let byRid = Dictionary(grouping: listed, by: { $0["rid"] as? String ?? "-" })
            let runA = try #require(byRid["a"]?.first)
            #expect(runA["outcome"] as? String == "fail" && runA["exit_status"] as? Int == 3 && runA["started_at"] is String && runA["duration_ms"] is Int)
            #expect(runA["output_bytes"] as? Int == big.count && runA["output_truncated"] as? Bool == true)
            let runB = try #require(byRid["b"]?.first)
            #expect(runB["outcome"] as? String == "success" && runB["exit_status"] as? Int == 0 && runB["output_bytes"] as? Int == 7)
            let lone = try #require(listed.first { $0["rid"] is NSNull && $0["outcome"] as? String == "success" })
            #expect(lone["started_at"] is NSNull && lone["exit_status"] is NSNull, "an end with no open run is a run of its own")

            let (idA, idLone) = (try #require(runA["id"] as? Int), try #require(lone["id"] as? Int))
            let logA = try httpRequest(port: running.port, "/v1/apps/\(running.application)/runs/\(idA)/log")
            #expect(logA.headers["content-type"] == "text/plain; charset=utf-8")
            #expect(logA.text.hasPrefix("[… \(big.count - 100 * 1_024) earlier bytes of \(big.count) not kept …]\n") && logA.text.hasSuffix("the end: disk full\n"))
            let logLone = try httpRequest(port: running.port, "/v1/apps/\(running.application)/runs/\(idLone)/log")
            #expect(logLone.text == "ok\u{FFFD}\n", "NUL removed, invalid UTF-8 replaced")
            #expect(try httpRequest(port: running.port, "/v1/apps/\(running.application)/runs/999999/log").status == 404)
            #expect(try httpRequest(port: running.port, "/v1/apps/\(ApplicationUUID.random())/runs").status == 404)

            let detail = try httpRequest(port: running.port, "/apps/\(running.application)").text
            #expect(detail.contains("<h2>Runs</h2>") && detail.contains("/runs/\(idA)/log\">\(big.count) bytes</a> (last 100 KiB kept)"), "\(detail)")
            #expect(detail.contains("<pre class=\"output\">just a &lt;b&gt;note&lt;/b&gt;</pre>"), "the newest output, escaped")

            let page = try httpRequest(port: running.port, "/metrics").text
            #expect(page.contains("heartbeat_runs_recorded_total 6\n") && page.contains("heartbeat_ping_logs_total{outcome=\"accepted\"} 1\n"), "\(page.split(separator: "\n").filter { $0.contains("run") || $0.contains("ping_logs") })")
        }
    }

    static func keepThreeRuns(_ configuration: inout CollectorConfiguration) {
        configuration.runHistory = 3
    }

    @Test("each application keeps its newest --run-history runs; older ones are deleted and counted")
    func cap() async throws {
        try await RunningSidecar.with(configure: Self.keepThreeRuns) { running in
            for code in 0..<5 {
                let answer = try httpRequest(port: running.port, "/ping/\(running.application)/\(code)")
                #expect(answer.status == 200)
            }
            #expect(try runs(running).map { $0["exit_status"] as? Int } == [4, 3, 2])
            #expect(try running.connection.query("SELECT count(*) FROM job_run") == [["3"]])
            #expect(try httpRequest(port: running.port, "/metrics").text.contains("heartbeat_runs_deleted_total{cause=\"cap\"} 2\n"))
        }
    }

    /// A collector that notifies `receiver` of every transition, its monitor sweeping every 100 ms.
    static func notifying(_ receiver: WebhookReceiver) -> (inout CollectorConfiguration) -> Void {
        { configuration in
            configuration.monitorPeriodMillis = 100
            configuration.webhookURLs = [receiver.url]
            configuration.webhookSecret = "ping-run-webhook-secret-0123456789"
        }
    }

    /// The first notification of a `down` that `receiver` took, as raw bytes and as JSON.
    func firstDown(_ receiver: WebhookReceiver, _ running: RunningSidecar) throws -> (body: [UInt8], json: [String: Any]) {
        func isDown(_ request: WebhookReceiver.Request) -> Bool {
            (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["to"] as? String == "down"
        }
        #expect(running.waitFor(10) { receiver.requests.contains { $0.answered == 200 && isDown($0) } })
        let delivered = try #require(receiver.requests.first(where: isDown))
        return (delivered.body, try #require(try JSONSerialization.jsonObject(with: Data(delivered.body)) as? [String: Any]))
    }

    @Test("a failing job's output reaches the webhook as log_tail, and {{log_tail}} renders it")
    func logTailInWebhook() async throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        try await RunningSidecar.with(configure: Self.notifying(receiver)) { running in
            let output = (1...300).map { "step \($0) ok" }.joined(separator: "\n") + "\nERROR: backup target unreachable\n"
            #expect(try httpRequest(port: running.port, "/ping/\(running.application)/start").status == 200)
            #expect(try httpRequest(port: running.port, "/ping/\(running.application)/2", method: "POST", body: Array(output.utf8)).status == 200)
            let (raw, body) = try firstDown(receiver, running)
            #expect(body["reason"] as? String == "failed")
            let tail = try #require(body["log_tail"] as? String)
            #expect(tail.count == 2_000 && tail.hasSuffix("ERROR: backup target unreachable\n") && output.hasSuffix(tail))
            let facts = try #require(NotificationFacts(payload: String(decoding: raw, as: UTF8.self)))
            #expect(try NotificationTemplate(parsing: "failed:\n{{log_tail}}").render(facts, applicationURL: "").hasSuffix("unreachable\n"))
        }
    }

    @Test("heartbeat run --capture over HTTP: the output passes through, its tail is stored with the failed run and reaches the webhook; --capture alone is a usage error")
    func runCapture() async throws {
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        try await RunningSidecar.with(configure: Self.notifying(receiver)) { running in
            let script = "i=0; while [ $i -lt 300 ]; do echo \"line $i\"; i=$((i+1)); done; echo 'fatal: out of space' >&2; exit 4"
            let arguments = ["run", "--app", "\(running.application)", "--http-endpoint", "http://127.0.0.1:\(running.port)", "--capture", "1", "--", "sh", "-c", script]
            let result = try runProcess(heartbeatExecutable(), arguments)
            #expect(result.status == 4, "the command's own status: \(result.standardError)")
            #expect(result.standardOutput.hasPrefix("line 0\n") && result.standardOutput.hasSuffix("line 299\n") && result.standardError == "fatal: out of space\n")
            let listed = try runs(running)
            let run = try #require(listed.first)
            #expect(listed.count == 1 && run["outcome"] as? String == "fail" && run["exit_status"] as? Int == 4 && run["started_at"] is String, "\(listed)")
            let id = try #require(run["id"] as? Int)
            let log = try httpRequest(port: running.port, "/v1/apps/\(running.application)/runs/\(id)/log").text
            #expect(log.hasPrefix("[… ") && log.contains("earlier bytes of") && log.hasSuffix("line 299\nfatal: out of space\n"), "\(log.prefix(200))")
            #expect(log.utf8.count < 1_100, "the last KiB, after the marker")
            let (_, body) = try firstDown(receiver, running)
            #expect((body["log_tail"] as? String)?.hasSuffix("fatal: out of space\n") == true)

            let alone = try runProcess(heartbeatExecutable(), ["run", "--app", "\(running.application)", "--capture", "8", "--", "true"])
            #expect(alone.status == 2 && alone.standardError.contains("--capture sends the output over HTTP"))
        }
    }
}
