/// The parts of a `redis://HOST:PORT[/DB]` URL.
public struct RedisURL: Equatable, Sendable {
    /// Host name or address (IPv6 without brackets).
    public let host: String
    /// TCP port.
    public let port: Int
    /// Database number (`SELECT`ed after connecting).
    public let database: Int

    /// Parses `text`; `nil` when it is not of that form (port 1-65535, database 0 or more).
    public init?(_ text: String) {
        guard text.hasPrefix("redis://") else { return nil }
        let rest = text.dropFirst("redis://".count)
        let hostAndPort = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let authority = hostAndPort.first, let colon = authority.lastIndex(of: ":") else { return nil }
        var host = String(authority[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(authority[authority.index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        var database = 0
        if hostAndPort.count == 2, !hostAndPort[1].isEmpty {
            guard let number = Int(hostAndPort[1]), number >= 0 else { return nil }
            database = number
        }
        self.host = host
        self.port = port
        self.database = database
    }
}
