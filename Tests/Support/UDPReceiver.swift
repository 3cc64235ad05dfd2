import Foundation
import Protocol

#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket on a free loopback port (IPv4 or IPv6) that tests send heartbeats to and read them back from.
public final class UDPReceiver {
    public let port: UInt16
    public let isIPv6: Bool
    private let socket: Int32

    /// Binds 127.0.0.1 (or ::1 with `ipv6`) on `port`, or on a port the kernel picks when `port`
    /// is 0. Returns `nil` when that port is taken.
    public init?(ipv6: Bool = false, port requestedPort: UInt16 = 0) {
        let family = ipv6 ? AF_INET6 : AF_INET
        let socket = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        precondition(socket >= 0, "socket: \(errno)")
        // Room for what a test sends before it reads (as root past net.core.rmem_max).
        var bufferSize: Int32 = 8 << 20
        if setsockopt(socket, SOL_SOCKET, SO_RCVBUFFORCE, &bufferSize, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        }
        var storage = sockaddr_storage()
        let length: socklen_t
        if ipv6 {
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_addr = in6addr_loopback
                address.pointee.sin6_port = requestedPort.bigEndian
            }
        } else {
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.pointee.sin_port = requestedPort.bigEndian
            }
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0 else {
            close(socket)
            return nil
        }
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &actualLength) }
        }
        let networkPort = withUnsafeBytes(of: &storage) { raw in
            ipv6 ? raw.load(as: sockaddr_in6.self).sin6_port : raw.load(as: sockaddr_in.self).sin_port
        }
        self.socket = socket
        self.port = UInt16(bigEndian: networkPort)
        self.isIPv6 = ipv6
    }

    /// A receiver on 127.0.0.1 and a port the kernel picks (which cannot be taken).
    public convenience init() {
        self.init(ipv6: false, port: 0)!
    }

    deinit { close(socket) }

    /// `127.0.0.1:PORT`.
    public var endpointText: String { isIPv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)" }

    /// The next datagram, or `nil` when none arrives within `timeoutMillis`.
    public func receive(timeoutMillis: Int = 2_000) -> [UInt8]? {
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeoutMillis)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(socket, &buffer, buffer.count, 0)
        return count < 0 ? nil : Array(buffer[0..<count])
    }

    /// Every record of the datagrams that arrive until none comes for `quietMillis`, decoded.
    public func receiveRecords(quietMillis: Int = 300, firstTimeoutMillis: Int = 2_000) throws -> [HeartbeatRecord] {
        var records = [HeartbeatRecord]()
        var timeout = firstTimeoutMillis
        while let datagram = receive(timeoutMillis: timeout) {
            timeout = quietMillis
            records += try Self.decode(datagram)
        }
        return records
    }

    /// The records of one datagram.
    public static func decode(_ datagram: [UInt8]) throws -> [HeartbeatRecord] {
        guard let count = WireFormat.recordCount(datagramLength: datagram.count) else { throw RejectionReason.malformed }
        return try datagram.withUnsafeBytes { bytes in
            try (0..<count).map { try HeartbeatRecord.decode(from: bytes.baseAddress! + $0 * 64) }
        }
    }
}
