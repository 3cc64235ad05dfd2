import Foundation

/// The parts of a `redis://[[USER]:PASSWORD@]HOST:PORT[/DB]` URL.
public struct RedisURL: Equatable, Sendable {
    /// Host name or address (IPv6 without brackets).
    public let host: String
    /// TCP port.
    public let port: Int
    /// Database number (`SELECT`ed after connecting).
    public let database: Int
    /// The ACL user for `AUTH user password` (Redis 6+), if the URL names one.
    public let user: String?
    /// The password for `AUTH`, if the URL carries one (percent-decoded).
    public let password: String?

    /// Parses `text`; `nil` when it is not of that form (port 1-65535, database 0 or more).
    public init?(_ text: String) {
        guard text.hasPrefix("redis://") else { return nil }
        var rest = Substring(text.dropFirst("redis://".count))
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else { return nil }
            let name = String(credentials[..<colon])
            guard let decodedName = name.removingPercentEncoding,
                let decodedPassword = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            else { return nil }
            user = decodedName.isEmpty ? nil : decodedName
            password = decodedPassword
        }
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
        self.user = user
        self.password = password
    }

    /// `text` with any password replaced by `***`, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard text.hasPrefix("redis://"), let at = text.lastIndex(of: "@") else { return text }
        let credentials = text[text.index(text.startIndex, offsetBy: "redis://".count)..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return "redis://" + credentials[..<colon] + ":***" + text[at...]
    }
}
