import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request to 127.0.0.1 over a plain socket (`Connection: close`), for tests: the
/// status, headers (names lowercased) and body as received.
public struct HTTPResult: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

public enum HTTPError: Error { case connect(Int32), malformed(String) }

/// A TCP socket connected to 127.0.0.1:`port` whose reads give up after `receiveTimeoutMicros`;
/// the caller closes it.
public func connectLoopback(port: Int, receiveTimeoutMicros: Int = 10_000_000) throws -> Int32 {
    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        let failure = errno
        close(client)
        throw HTTPError.connect(failure)
    }
    var timeout = timeval(tv_sec: receiveTimeoutMicros / 1_000_000, tv_usec: receiveTimeoutMicros % 1_000_000)
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return client
}

/// Sends `method path` with `headers` and `body` to 127.0.0.1:`port` and reads the whole answer.
public func httpRequest(
    port: Int, _ path: String, method: String = "GET", headers: [String: String] = [:], body: [UInt8] = []
) throws -> HTTPResult {
    let client = try connectLoopback(port: port)
    defer { close(client) }
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    let request = Array((head + "\r\n").utf8) + body
    _ = request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = recv(client, &buffer, buffer.count, 0)
        guard count > 0 else { break }
        data += buffer[0..<count]
    }
    guard let head = HTTPHead(data) else { throw HTTPError.malformed(String(decoding: data, as: UTF8.self)) }
    let statusParts = head.firstLine.split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw HTTPError.malformed(head.firstLine) }
    let fields = head.fields
    var payload = Array(data[head.bodyStart...])
    if fields["transfer-encoding"]?.lowercased() == "chunked" { payload = dechunk(payload) }
    return HTTPResult(status: status, headers: fields, body: payload)
}

/// The body of a chunked transfer encoding.
private func dechunk(_ data: [UInt8]) -> [UInt8] {
    var result = [UInt8]()
    var index = 0
    while index < data.count {
        guard let lineEnd = (index..<(data.count - 1)).first(where: { data[$0] == 13 && data[$0 + 1] == 10 }),
            let size = Int(String(decoding: data[index..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16)
        else { break }
        if size == 0 { break }
        let start = lineEnd + 2
        result += data[start..<min(data.count, start + size)]
        index = start + size + 2
    }
    return result
}
