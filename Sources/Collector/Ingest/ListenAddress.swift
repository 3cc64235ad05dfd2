#if canImport(Glibc)
import Glibc
#endif

/// A numeric address and port to listen on: `IPv4:PORT` or `[IPv6]:PORT` (no DNS: a server binds
/// what it is told).
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address without brackets.
    public let host: String
    /// The port.
    public let port: UInt16

    /// Why a text is not a listen address.
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `IPv4:PORT` or `[IPv6]:PORT`.
    public init(parsing text: String) throws(ParseError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            throw ParseError(description: "'\(text)' is not IPv4:PORT or [IPv6]:PORT")
        }
        guard let port = UInt16(portText) else {
            throw ParseError(description: "'\(text)': the port must be 0-65535")
        }
        self.host = String(host)
        self.port = port
        guard (try? socketAddress()) != nil else {
            throw ParseError(description: "'\(text)': '\(host)' is not a numeric IPv4 or IPv6 address")
        }
    }

    /// The address as `sockaddr_storage`, with its length and family.
    func socketAddress() throws(ParseError) -> (storage: sockaddr_storage, length: socklen_t, family: Int32) {
        var storage = sockaddr_storage()
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw ParseError(description: host) }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in6.self) }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size), AF_INET6)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw ParseError(description: host) }
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in.self) }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET)
    }

    /// `HOST:PORT`, brackets around IPv6.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
