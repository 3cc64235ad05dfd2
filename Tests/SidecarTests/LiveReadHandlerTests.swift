import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
@testable import Sidecar
import Testing

/// The event-loop fast path for status reads (``LiveReadHandler``), against a fake collector: it
/// answers exactly what the router answers, leaves every error to the router, keeps pipelined
/// answers in order, and a connection it keeps busy is not closed as idle.
@Suite("Status reads on the event loop")
struct LiveReadHandlerTests {
    static let readToken = "read-token-for-fast-reads"

    /// `heartbeat_http_event_loop_answers_total` on the sidecar at `port`.
    static func eventLoopAnswers(port: Int) throws -> Int {
        let page = try httpRequest(port: port, "/metrics", headers: ["Authorization": "Bearer \(readToken)"]).text
        let line = page.split(separator: "\n").first { $0.hasPrefix("heartbeat_http_event_loop_answers_total ") }
        return line.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
    }

    /// Starts `servers`, runs `body` (blocking socket work: the sidecars run on their own
    /// threads), and shuts them down whatever happened.
    static func serving(_ servers: [SidecarServer], _ body: () throws -> Void) async throws {
        var failure: (any Error)?
        do {
            for server in servers { try server.start() }
            try body()
        } catch {
            failure = error
        }
        for server in servers { await server.shutdown() }
        if let failure { throw failure }
    }

    @Test("on a keep-alive connection the event loop answers status reads exactly as the router does (200, 304, HEAD); every error is the router's")
    func sameAsRouter() async throws {
        let collector = FakeCollector()
        let uuids = SidecarRouteTests.liveFixture(collector)
        let fast = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, readToken: Self.readToken)
        let routed = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, readToken: Self.readToken, liveReadsOnEventLoop: false)
        try await Self.serving([fast, routed]) {
        let auth = ["Authorization": "Bearer \(Self.readToken)"]
        let etag = try httpRequest(port: routed.port, "/v1/apps/\(uuids[0])", headers: auth).headers["etag"] ?? "none"
        // (method, path, headers, answered on the event loop)
        let cases: [(String, String, [String: String], Bool)] = [
            ("GET", "/v1/summary", auth, true),
            ("GET", "/v1/apps/\(uuids[0])", auth, true),
            ("GET", "/v1/apps/\(uuids[1])?pretty=1", auth, true),
            ("HEAD", "/v1/apps/\(uuids[0])", auth, true),
            ("HEAD", "/v1/summary", auth, true),
            ("GET", "/v1/apps/\(uuids[0])", auth.merging(["If-None-Match": etag]) { $1 }, true),
            ("GET", "/v1/apps/\(uuids[0])", auth.merging(["If-None-Match": "\"other\""]) { $1 }, true),
            ("GET", "/v1/apps/\(uuids[0])", [:], false),
            ("GET", "/v1/apps/\(uuids[0])", ["Authorization": "Bearer wrong"], false),
            ("GET", "/v1/apps/\(ApplicationUUID.random())", auth, false),
            ("GET", "/v1/apps/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", auth, false),
            ("GET", "/v1/apps?limit=1", auth, false),
            ("DELETE", "/v1/summary", auth, false),
        ]
        let fastConnection = try KeepAliveConnection(port: fast.port)
        let routedConnection = try KeepAliveConnection(port: routed.port)
        let before = try Self.eventLoopAnswers(port: fast.port)
        var expectedFast = 0
        for (method, path, headers, onEventLoop) in cases {
            let expected = try routedConnection.exchange(method, path, headers: headers)
            let answered = try fastConnection.exchange(method, path, headers: headers)
            #expect(answered.status == expected.status, "\(method) \(path)")
            // Every header the same; the dates only as close as the two answers were in time.
            let withoutDate = { (headers: [String: String]) in headers.filter { $0.key != "date" } }
            #expect(withoutDate(answered.headers) == withoutDate(expected.headers), "\(method) \(path): \(answered.headers) against the router's \(expected.headers)")
            #expect(answered.headers["date"]?.hasSuffix(" GMT") == true && answered.headers["date"]?.count == expected.headers["date"]?.count, "\(method) \(path)")
            #expect(answered.body == expected.body, "\(method) \(path): \(answered.text) against the router's \(expected.text)")
            if onEventLoop { expectedFast += 1 }
            #expect(try Self.eventLoopAnswers(port: fast.port) - before == expectedFast, "\(method) \(path) answered on the event loop: \(onEventLoop)")
        }
        #expect(expectedFast == 7)
        #expect(try Self.eventLoopAnswers(port: routed.port) == 0)
        // The 304 really was one, and the starting 503 is the router's too.
        #expect(try fastConnection.exchange("GET", "/v1/apps/\(uuids[0])", headers: auth.merging(["If-None-Match": etag]) { $1 }).status == 304)
        SidecarRouteTests.liveFixture(collector, sequence: 0)
        let starting = try fastConnection.exchange("GET", "/v1/summary", headers: auth)
        #expect(starting.status == 503 && starting.headers["retry-after"] == "1" && starting.text.contains("starting"))
        }
    }

    @Test("pipelined requests are answered in order when a router request comes first; then reads go back to the event loop")
    func pipelinedOrder() async throws {
        let collector = FakeCollector()
        let uuids = SidecarRouteTests.liveFixture(collector)
        let sidecar = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, readToken: Self.readToken)
        try await Self.serving([sidecar]) {
        let auth = ["Authorization": "Bearer \(Self.readToken)"]
        let connection = try KeepAliveConnection(port: sidecar.port)
        for _ in 0..<20 {
            connection.send([
                KeepAliveConnection.request("/v1/apps?limit=1", headers: auth),
                KeepAliveConnection.request("/v1/summary", headers: auth),
                KeepAliveConnection.request("/v1/apps/\(uuids[1])", headers: auth),
                KeepAliveConnection.request("/healthz"),
                KeepAliveConnection.request("/v1/apps/\(uuids[0])", headers: auth),
            ])
            let answers = try (0..<5).map { _ in try connection.answer() }
            #expect(answers.map(\.status) == [200, 200, 200, 200, 200])
            #expect(answers[0].text.hasPrefix("{\"apps\":["), "\(answers[0].text)")
            #expect(answers[1].text.contains("\"total\":2"), "\(answers[1].text)")
            #expect(answers[2].text.contains("\"uuid\":\"\(uuids[1])\""), "\(answers[2].text)")
            #expect(answers[3].text == #"{"status":"ok"}"#)
            #expect(answers[4].text.contains("\"uuid\":\"\(uuids[0])\""), "\(answers[4].text)")
        }
        let before = try Self.eventLoopAnswers(port: sidecar.port)
        #expect(try connection.exchange("GET", "/v1/summary", headers: auth).status == 200)
        #expect(try Self.eventLoopAnswers(port: sidecar.port) == before + 1)
        }
    }

    @Test("a connection kept busy by event-loop reads stays open past the idle timeout; an idle one beside it is closed")
    func idleTimeout() async throws {
        let collector = FakeCollector()
        SidecarRouteTests.liveFixture(collector)
        let limits = SidecarServer.Limits(maximumConnections: 4, reserveConnections: 1, idleTimeoutSeconds: 2, requestTimeoutSeconds: 10)
        let sidecar = SidecarServer(collector: collector, host: "127.0.0.1", port: 0, limits: limits)
        try await Self.serving([sidecar]) {
        let busy = try KeepAliveConnection(port: sidecar.port)
        let idle = try KeepAliveConnection(port: sidecar.port, receiveTimeoutMicros: 200_000)
        #expect(try idle.exchange("GET", "/v1/summary").status == 200)
        let started = Date()
        var answered = 0
        while Date().timeIntervalSince(started) < 4 {
            #expect(try busy.exchange("GET", "/v1/summary").status == 200)
            answered += 1
            usleep(200_000)
        }
        #expect(answered >= 10)
        var closed = false
        for _ in 0..<50 where !closed { closed = idle.closedByServer() }
        #expect(closed, "the idle connection was closed")
        #expect(try Self.eventLoopAnswers(port: sidecar.port) >= answered + 1)
        let metrics = try httpRequest(port: sidecar.port, "/metrics").text
        #expect(metrics.contains("heartbeat_http_connections_closed_total{cause=\"idle_timeout\"} 1\n"), "the idle one, and only it, closed for idleness")
        #expect(try busy.exchange("GET", "/v1/summary").status == 200, "still open after the metrics were read")
        }
    }
}

@Suite("HTTP Date header")
struct HTTPDateTests {
    @Test("IMF-fixdate, as RFC 9110 writes it", arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),  // RFC 9110's own example
        (1_796_147_201, "Tue, 01 Dec 2026 17:46:41 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
    ])
    func format(seconds: Int, expected: String) {
        #expect(HTTPDate.format(seconds: seconds) == expected)
    }
}
