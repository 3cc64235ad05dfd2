import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
@testable import Sidecar
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP connection limits", .serialized)
struct ConnectionLimitTests {
    typealias Open = ConnectionAdmission.Open

    @Test("who may hold a connection", arguments: [
        // (open connections, decision) with maximum 2, reserve 1
        ([], ConnectionAdmission.Decision.admit),
        ([Open(id: 1, busy: true, lastActiveNanos: 5, reserved: false)], .admit),
        ([Open(id: 1, busy: false, lastActiveNanos: 9, reserved: false), Open(id: 2, busy: false, lastActiveNanos: 3, reserved: false)], .admitClosing(2)),
        ([Open(id: 1, busy: false, lastActiveNanos: 9, reserved: false), Open(id: 2, busy: true, lastActiveNanos: 3, reserved: false)], .admitClosing(1)),
        ([Open(id: 1, busy: true, lastActiveNanos: 9, reserved: false), Open(id: 2, busy: true, lastActiveNanos: 3, reserved: false)], .admitReserved),
        ([Open(id: 1, busy: true, lastActiveNanos: 9, reserved: false), Open(id: 2, busy: true, lastActiveNanos: 3, reserved: false),
          Open(id: 3, busy: false, lastActiveNanos: 1, reserved: true)], .refuse),
        // A reserve slot never counts against the regular ones.
        ([Open(id: 3, busy: true, lastActiveNanos: 1, reserved: true)], .admit),
    ] as [([Open], ConnectionAdmission.Decision)])
    func admission(open: [Open], expected: ConnectionAdmission.Decision) {
        #expect(ConnectionAdmission(maximum: 2, reserve: 1).decide(open: open) == expected)
    }

    /// A raw TCP connection to the sidecar, for requests sent a few bytes at a time.
    final class RawConnection {
        let socket: Int32
        init(port: Int) throws {
            socket = try connectLoopback(port: port, receiveTimeoutMicros: 200_000)
        }
        deinit { close(socket) }

        /// Sends `text`; false once the peer has closed.
        @discardableResult
        func send(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } > 0
        }

        /// What arrived within 0.2 s, and whether the peer closed.
        func receive() -> (text: String, closed: Bool) {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = recv(socket, &buffer, buffer.count, 0)
            if count == 0 { return ("", true) }
            if count < 0 { return ("", false) }
            return (String(decoding: buffer[0..<count], as: UTF8.self), false)
        }

        /// The first bytes (or the close) that arrive within `seconds`: for an answer that is
        /// expected, so a loaded machine that is slow to send it is not mistaken for silence.
        func awaitAnswer(within seconds: Double = 10) -> (text: String, closed: Bool) {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                let answer = receive()
                if answer.closed || !answer.text.isEmpty || Date() >= deadline { return answer }
            }
        }

        /// Whether the peer closes within `seconds`, while `drip` is called every 0.5 s.
        func closes(within seconds: Double, drip: () -> Void = {}) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if receive().closed { return true }
                drip()
                usleep(300_000)
            }
            return false
        }
    }

    static let limits = SidecarServer.Limits(maximumConnections: 2, reserveConnections: 1, idleTimeoutSeconds: 2, requestTimeoutSeconds: 2)

    func withSidecar(limits: SidecarServer.Limits = Self.limits, _ body: (Int) throws -> Void) async throws {
        let running = try RunningSidecar()
        let sidecar = SidecarServer(collector: running.pipeline, host: "127.0.0.1", port: 0, limits: limits)
        do {
            try sidecar.start()
            let port = sidecar.port
            try body(port)
        } catch {
            await sidecar.shutdown()
            await running.stop()
            throw error
        }
        await sidecar.shutdown()
        await running.stop()
    }

    @Test("a header dripped two bytes at a time is cut off by the idle timeout, not held for minutes")
    func slowHeader() async throws {
        try await withSidecar { port in
            let connection = try RawConnection(port: port)
            let request = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 200))
            var sent = 0
            let started = Date()
            let closed = connection.closes(within: 8) {
                connection.send(String(request[sent..<min(sent + 2, request.count)]))
                sent += 2
            }
            #expect(closed, "still open after 8 s of dripping")
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }

    @Test("a body dripped a byte at a time is cut off by the request timeout")
    func slowBody() async throws {
        try await withSidecar { port in
            let connection = try RawConnection(port: port)
            connection.send("POST /v1/heartbeats HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 640\r\n\r\n")
            let started = Date()
            #expect(connection.closes(within: 8) { connection.send("x") })
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }

    @Test("at the limit the oldest idle connection makes room; with every one busy, health is still answered on a reserve slot")
    func limits() async throws {
        // Timeouts far beyond the test's own pauses, so that on a loaded machine no connection is
        // closed for idleness or slowness: every close here must come from the admission rule.
        let patient = SidecarServer.Limits(maximumConnections: 2, reserveConnections: 1, idleTimeoutSeconds: 60, requestTimeoutSeconds: 60)
        try await withSidecar(limits: patient) { port in
            // Two idle keep-alive connections fill the regular slots; a third one closes the oldest.
            let first = try RawConnection(port: port), second = try RawConnection(port: port)
            for connection in [first, second] {
                connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(connection.awaitAnswer().text.hasPrefix("HTTP/1.1 200"))
                usleep(100_000)
            }
            let third = try RawConnection(port: port)
            third.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(third.awaitAnswer().text.hasPrefix("HTTP/1.1 200"))
            #expect(first.closes(within: 10), "the oldest idle connection was closed for the newcomer")
            #expect(!second.receive().closed)

            // Both regular slots busy (requests whose bodies are still arriving).
            for connection in [second, third] {
                connection.send("POST /v1/heartbeats HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 64\r\n\r\nx")
            }
            usleep(200_000)
            let reserve = try RawConnection(port: port)
            reserve.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(reserve.awaitAnswer().text.hasPrefix("HTTP/1.1 200"), "health is answered on a reserve slot")
            let another = try RawConnection(port: port)
            another.send("GET /v1/summary HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = another.awaitAnswer()
            #expect(answer.text.hasPrefix("HTTP/1.1 503") || answer.closed, "\(answer.text)")
        }
    }
}
