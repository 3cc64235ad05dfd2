import Collector
import Foundation

/// A fresh, empty PostgreSQL database for one test, created from the test server's URL and
/// dropped when the value goes away, so tests never see each other's rows.
public final class TestDatabase {
    public let name: String
    public let url: String
    private let administration: PostgresConnection

    public init() throws {
        let serverURL = try serviceURL("HEARTBEAT_DATABASE_URL")
        administration = try PostgresConnection(url: serverURL)
        name = "heartbeat_test_\(UInt32.random(in: .min ... .max))_\(UInt32.random(in: .min ... .max))"
        try administration.query("CREATE DATABASE \(name)")
        guard let slash = serverURL.lastIndex(of: "/") else { throw ServiceNotConfigured(variable: "HEARTBEAT_DATABASE_URL") }
        url = serverURL[...slash] + name
    }

    /// A new connection to this database.
    public func connect() throws -> PostgresConnection {
        try PostgresConnection(url: url)
    }

    deinit {
        _ = try? administration.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// The connection URL of a test service, from the environment `scripts/test` sets up.
public func serviceURL(_ variable: String) throws -> String {
    guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
        throw ServiceNotConfigured(variable: variable)
    }
    return url
}

/// Integration tests need the throwaway services of `scripts/services up`.
public struct ServiceNotConfigured: Error, CustomStringConvertible {
    public let variable: String
    public var description: String {
        "\(variable) is not set: run the tests with scripts/test, or `eval \"$(scripts/services env)\"` after `scripts/services up`"
    }
}
