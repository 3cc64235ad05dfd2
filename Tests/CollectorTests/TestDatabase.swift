import Collector
import Foundation

/// A fresh, empty PostgreSQL database for one test, created from the test server's URL and
/// dropped when the value goes away, so tests never see each other's rows.
final class TestDatabase {
    let name: String
    let url: String
    private let administration: PostgresConnection

    init() throws {
        let serverURL = try serviceURL("HEARTBEAT_DATABASE_URL")
        administration = try PostgresConnection(url: serverURL)
        name = "heartbeat_test_\(UInt32.random(in: .min ... .max))_\(UInt32.random(in: .min ... .max))"
        try administration.query("CREATE DATABASE \(name)")
        guard let slash = serverURL.lastIndex(of: "/") else { throw ServiceNotConfigured(variable: "HEARTBEAT_DATABASE_URL") }
        url = serverURL[...slash] + name
    }

    /// A new connection to this database.
    func connect() throws -> PostgresConnection {
        try PostgresConnection(url: url)
    }

    deinit {
        _ = try? administration.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
