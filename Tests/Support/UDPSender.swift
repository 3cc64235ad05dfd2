#if canImport(Glibc)
import Glibc
#endif

/// Sends raw datagrams to a loopback port (tests craft the bytes themselves).
public final class UDPSender {
    private let socket: Int32
    private var address = sockaddr_in()

    /// A sender to 127.0.0.1:`port`.
    public init(port: UInt16) {
        socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        precondition(socket >= 0)
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
    }

    deinit { close(socket) }

    /// Sends one datagram of `bytes`.
    public func send(_ bytes: [UInt8]) {
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        precondition(sent == bytes.count, "sendto failed: \(errno)")
    }
}
