import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 keep-alive connection to 127.0.0.1 for tests: requests sent one at a time or
/// pipelined in one write, answers read back in order (by `Content-Length`).
public final class KeepAliveConnection {
    private let socket: Int32
    private var received = [UInt8]()

    public init(port: Int, receiveTimeoutMicros: Int = 10_000_000) throws {
        socket = try connectLoopback(port: port, receiveTimeoutMicros: receiveTimeoutMicros)
    }

    deinit { close(socket) }

    /// The text of a keep-alive request (no body).
    public static func request(_ path: String, method: String = "GET", headers: [String: String] = [:]) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }

    /// Sends `requests` in one write (pipelined when there are several).
    public func send(_ requests: [String]) {
        let bytes = Array(requests.joined().utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next answer on the connection; `headOnly` for the answer to a HEAD request, whose
    /// `Content-Length` describes a body that is not sent.
    public func answer(headOnly: Bool = false) throws -> HTTPResult {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let head = HTTPHead(received) {
                let length = headOnly ? 0 : head.contentLength
                if received.count >= head.bodyStart + length {
                    let body = Array(received[head.bodyStart..<(head.bodyStart + length)])
                    received.removeFirst(head.bodyStart + length)
                    let parts = head.firstLine.split(separator: " ")
                    guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPError.malformed(head.firstLine) }
                    return HTTPResult(status: status, headers: head.fields, body: body)
                }
            }
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { throw HTTPError.malformed("the connection closed or went quiet after \(received.count) bytes") }
            received += buffer[0..<count]
        }
    }

    /// Sends one request and reads its answer.
    public func exchange(_ method: String = "GET", _ path: String, headers: [String: String] = [:]) throws -> HTTPResult {
        send([Self.request(path, method: method, headers: headers)])
        return try answer(headOnly: method == "HEAD")
    }

    /// Whether the server has closed the connection (waits up to the receive timeout for it).
    public func closedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(socket, &byte, 1, 0) == 0
    }
}
