import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// `/ping/{uuid}[/{action}]` against a ``FakeCollector``: each outcome of the gate is the status
/// code, headers and text `Spec/http-ping.md` documents, and the request reaches the gate as the
/// ping it describes.
@Suite("HTTP ping routes against a fake collector", .serialized)
struct PingRouteTests {
    static let uuid = "0f5b5a3e-7c7e-4a8e-9d57-2f3a4b5c6d7e"

    /// (outcome, status, a header that must be there with its value, a word the body has).
    static let outcomes: [(HTTPPing.Outcome, Int, (String, String)?, String)] = [
        (.accepted, 200, nil, "OK"),
        (.unknownApplication, 404, nil, "no application"),
        (.disabled, 404, nil, "disabled"),
        (.keyMissing, 401, ("www-authenticate", #"Bearer realm="heartbeat ping""#), "ping key"),
        (.keyWrong, 403, nil, "not this application's ping key"),
        (.rateLimited(retryAfterSeconds: 7), 429, ("retry-after", "7"), "budget"),
        (.overloaded, 503, ("retry-after", "1"), "queue is full"),
    ]

    @Test("every outcome of the gate is its documented status, header and text", arguments: 0..<outcomes.count)
    func outcome(_ index: Int) async throws {
        let (outcome, status, header, word) = Self.outcomes[index]
        let collector = FakeCollector()
        collector.pingOutcome = outcome
        try await SidecarRouteTests.serve(collector) { port in
            let answer = try httpRequest(port: port, "/ping/\(Self.uuid)")
            #expect(answer.status == status, "\(answer.text)")
            #expect(answer.text.contains(word), "\(answer.text)")
            #expect(answer.headers["content-type"] == "text/plain; charset=utf-8" && answer.headers["cache-control"] == "no-store")
            if let (name, value) = header { #expect(answer.headers[name] == value) }
        }
    }

    /// (path and query, the kind, status and instance name the gate must be handed).
    static let requests: [(String, RecordKind, Int32, String?)] = [
        ("", .beat, 0, nil),
        ("/start", .start, 0, nil),
        ("/success", .success, 0, nil),
        ("/fail", .fail, 1, nil),
        ("/stop", .stop, 0, nil),
        ("/0", .success, 0, nil),
        ("/3", .fail, 3, nil),
        ("/255?instance=web-1", .fail, 255, "web-1"),
        ("?instance=host.example:2", .beat, 0, "host.example:2"),
    ]

    @Test("GET, POST and HEAD of each action reach the gate as the ping it names")
    func actions() async throws {
        let collector = FakeCollector()
        try await SidecarRouteTests.serve(collector) { port in
            for (suffix, kind, status, instance) in Self.requests {
                for method in ["GET", "POST", "HEAD"] {
                    let answer = try httpRequest(port: port, "/ping/\(Self.uuid)\(suffix)", method: method, body: method == "POST" ? Array("output".utf8) : [])
                    #expect(answer.status == 200, "\(method) \(suffix): \(answer.text)")
                    // The fake has no database: a run event's record is queued, its run is not stored, and the answer says so.
                    let runEvent = kind != .beat && kind != .stop
                    let expected = method == "HEAD" ? "" : runEvent ? "OK, but the run was not stored: the database did not answer\n" : "OK\n"
                    #expect(answer.text == expected, "\(method) \(suffix)")
                    let ping = try #require(collector.pings.last)
                    #expect(ping.application.description == Self.uuid && ping.kind == kind && ping.status == status, "\(method) \(suffix)")
                    #expect(ping.instance == (try instance.map { try HTTPPing.instanceID($0[...]) } ?? 0), "\(method) \(suffix)")
                }
            }
            #expect(collector.pings.count == Self.requests.count * 3)
            #expect(collector.enqueued == Self.requests.filter { $0.1 != .beat && $0.1 != .stop }.count * 3, "each run event's record queued once")
            let log = try httpRequest(port: port, "/ping/\(Self.uuid)/log", method: "POST", body: Array("output".utf8))
            #expect(log.status == 503 && log.headers["retry-after"] == "5" && log.text.contains("output was not stored"), "a log is only its output")
        }
    }

    @Test("the key comes from Authorization: Bearer, else from ?key= (percent-decoded); a bearer header wins")
    func keys() async throws {
        let collector = FakeCollector()
        try await SidecarRouteTests.serve(collector) { port in
            _ = try httpRequest(port: port, "/ping/\(Self.uuid)", headers: ["Authorization": "Bearer from-header"])
            #expect(collector.pings.last?.key == "from-header")
            _ = try httpRequest(port: port, "/ping/\(Self.uuid)?key=from%2Dquery")
            #expect(collector.pings.last?.key == "from-query")
            _ = try httpRequest(port: port, "/ping/\(Self.uuid)?key=from-query", headers: ["Authorization": "bearer header-wins"])
            #expect(collector.pings.last?.key == "header-wins")
            _ = try httpRequest(port: port, "/ping/\(Self.uuid)")
            #expect(collector.pings.last?.key == nil)
        }
    }

    @Test("a bad UUID, action or instance is a 400 that names it, counted as malformed and never handed to the gate")
    func malformed() async throws {
        let collector = FakeCollector()
        try await SidecarRouteTests.serve(collector) { port in
            for (path, word) in [
                ("/ping/not-a-uuid", "not an application UUID"), ("/ping/\(Self.uuid)/restart", "the action is"),
                ("/ping/\(Self.uuid)/256", "exit status 0-255"), ("/ping/\(Self.uuid)/-1", "the action is"),
                ("/ping/\(Self.uuid)?instance=", "instance"), ("/ping/\(Self.uuid)?instance=a%20b", "instance"),
                ("/ping/\(Self.uuid)?instance=\(String(repeating: "x", count: 65))", "instance"),
            ] {
                let answer = try httpRequest(port: port, path)
                #expect(answer.status == 400 && answer.text.contains(word), "\(path): \(answer.text)")
            }
            #expect(collector.malformedPings == 7 && collector.pings.isEmpty)
            let put = try httpRequest(port: port, "/ping/\(Self.uuid)", method: "PUT")
            #expect(put.status == 405 && put.headers["allow"] == "GET, HEAD, POST", "\(put.headers)")
        }
    }

    @Test("on a keep-alive connection the event loop answers GET and HEAD beats and stops exactly as the router does, each handed to the gate once; run events go to the router")
    func eventLoopSameAsRouter() async throws {
        let collector = FakeCollector()
        let fast = SidecarServer(collector: collector, host: "127.0.0.1", port: 0)
        let routed = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, liveReadsOnEventLoop: false)
        try await LiveReadHandlerTests.serving([fast, routed]) {
            let fastConnection = try KeepAliveConnection(port: fast.port)
            let routedConnection = try KeepAliveConnection(port: routed.port)
            var expectedFast = 0
            for (outcome, _, _, _) in Self.outcomes {
                collector.pingOutcome = outcome
                // (method, path, answered on the event loop)
                for (method, path, onEventLoop) in [
                    ("GET", "/ping/\(Self.uuid)", true), ("HEAD", "/ping/\(Self.uuid)/stop?instance=a", true), ("GET", "/ping/\(Self.uuid)/7", false),
                    ("GET", "/ping/nope", true), ("POST", "/ping/\(Self.uuid)/fail", false), ("GET", "/ping/\(Self.uuid)/a/b", false),
                    ("HEAD", "/ping/\(Self.uuid)/start", false),
                ] {
                    let pingsBefore = collector.pings.count + collector.malformedPings
                    let answersBefore = try LiveReadHandlerTests.eventLoopAnswers(port: fast.port)
                    let expected = try routedConnection.exchange(method, path)
                    let answered = try fastConnection.exchange(method, path)
                    #expect(answered.status == expected.status && answered.body == expected.body, "\(outcome) \(method) \(path)")
                    let withoutDate = { (headers: [String: String]) in headers.filter { $0.key != "date" } }
                    #expect(withoutDate(answered.headers) == withoutDate(expected.headers), "\(method) \(path): \(answered.headers) against \(expected.headers)")
                    let handed = path.hasSuffix("/a/b") ? 0 : 2
                    #expect(collector.pings.count + collector.malformedPings - pingsBefore == handed, "\(method) \(path): once per answer")
                    if onEventLoop { expectedFast += 1 }
                    #expect(try LiveReadHandlerTests.eventLoopAnswers(port: fast.port) - answersBefore == (onEventLoop ? 1 : 0), "\(method) \(path)")
                }
            }
            #expect(expectedFast == Self.outcomes.count * 3)
        }
    }

    @Test("pipelined on one keep-alive connection: a POST beat whose body is ignored, a POST end whose body is read, then GET beats answered on the event loop, all in order")
    func pipelinedBodies() async throws {
        let collector = FakeCollector()
        let sidecar = SidecarServer(collector: collector, host: "127.0.0.1", port: 0)
        try await LiveReadHandlerTests.serving([sidecar]) {
            let connection = try KeepAliveConnection(port: sidecar.port)
            let body = String(repeating: "output line\n", count: 2_000)
            func post(_ path: String) -> String {
                "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            for _ in 0..<5 {
                connection.send([
                    post("/ping/\(Self.uuid)"), post("/ping/\(Self.uuid)/fail"), KeepAliveConnection.request("/ping/\(Self.uuid)"),
                    KeepAliveConnection.request("/ping/\(Self.uuid)/stop"),
                ])
                let answers = try (0..<4).map { _ in try connection.answer() }
                #expect(answers.map(\.status) == [200, 200, 200, 200])
                #expect(answers.map(\.text) == ["OK\n", "OK, but the run was not stored: the database did not answer\n", "OK\n", "OK\n"])
            }
            #expect(collector.pings.map(\.kind) == Array(repeating: [RecordKind.beat, .fail, .beat, .stop], count: 5).flatMap { $0 })
        }
    }
}
