import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on a free 127.0.0.1 port that records every request it gets and answers
/// with the next status from a script (then 200): a webhook endpoint for tests. One request per
/// connection (it answers `Connection: close`).
public final class WebhookReceiver: @unchecked Sendable {
    /// One request as received.
    public struct Request: Sendable {
        /// Header names lowercased.
        public let headers: [String: String]
        public let body: [UInt8]
        /// The status this receiver answered with.
        public let answered: Int
    }

    public let port: UInt16
    public var url: String { "http://127.0.0.1:\(port)/hook" }
    private let listener: Int32
    private let lock = NSLock()
    private var received = [Request]()
    private var script: [Int]
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Starts listening; the first requests are answered with `statuses`, in order, the rest 200.
    public init(statuses: [Int] = []) {
        script = statuses
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(listener >= 0, "socket: \(errno)")
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        port = UInt16(bigEndian: address.sin_port)
        precondition(bound, "bind/listen: \(errno)")
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// Every request so far.
    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Stops accepting and waits for the server thread.
    public func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        finished.wait()
        close(listener)
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func serve() {
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4_096)
        var head: HTTPHead?
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            data += buffer[0..<count]
            if head == nil { head = HTTPHead(data) }
            if let head, data.count >= head.bodyStart + head.contentLength { break }
        }
        let request = head!
        lock.lock()
        let status = script.isEmpty ? 200 : script.removeFirst()
        received.append(Request(
            headers: request.fields, body: Array(data[request.bodyStart..<(request.bodyStart + request.contentLength)]), answered: status))
        lock.unlock()
        let response = Array("HTTP/1.1 \(status) Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
