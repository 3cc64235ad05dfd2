/// Where heartbeats go: a host name or address and a UDP port.
///
/// Text forms: `HOST:PORT`, `[IPv6]:PORT`, or a bare `HOST` / `[IPv6]` for the default port 7411.
public struct HeartbeatEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// The collector's default UDP port.
    public static let defaultPort: UInt16 = 7411
    /// `127.0.0.1:7411`, the collector's default address.
    public static let localDefault = HeartbeatEndpoint(host: "127.0.0.1", port: defaultPort)

    /// A host name, an IPv4 address or an IPv6 address (without brackets).
    public let host: String
    /// The UDP port.
    public let port: UInt16

    /// An endpoint at `host` (name or address, IPv6 without brackets) and UDP `port`.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Why a text is not an endpoint.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        /// The text that was refused.
        public let text: String
        /// What is wrong with it.
        public let problem: String
        public var description: String {
            "'\(text)' is not an endpoint: \(problem) (expected HOST:PORT, [IPv6]:PORT or HOST)"
        }
    }

    /// Parses one of the text forms.
    public init(parsing text: String) throws(ParseError) {
        func fail(_ problem: String) -> ParseError { ParseError(text: text, problem: problem) }
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("no closing ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw fail("expected ':' after ']'") }
                portText = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count > 1 {
            throw fail("an IPv6 address needs brackets")
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = Substring(text)
        }
        guard !host.isEmpty else { throw fail("the host is empty") }
        guard !host.contains(where: { $0.isWhitespace }) else { throw fail("the host has white space") }
        var port = Self.defaultPort
        if let portText {
            guard let number = UInt16(portText), number > 0 else { throw fail("the port must be 1-65535") }
            port = number
        }
        self.init(host: String(host), port: port)
    }

    /// `HOST:PORT`, with brackets around IPv6 addresses.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
