import Collector
import Foundation
import HeartbeatTestSupport
import Testing

@Suite("Links to PostgreSQL (libpq) and Redis (hiredis)")
struct ServiceLinkTests {
    @Test("libpq connects to the test PostgreSQL 15 and runs a query")
    func postgres() throws {
        let connection = try PostgresConnection(url: serviceURL("HEARTBEAT_DATABASE_URL"))
        #expect(connection.serverVersion >= 150_000)
        #expect(try connection.query("SELECT 40 + 2, NULL::text, 'heart' || 'beat'") == [["42", nil, "heartbeat"]])
        #expect(throws: PostgresError.self) { try connection.query("SELECT * FROM no_such_table") }
        // The connection still works after a failed statement.
        #expect(try connection.query("SELECT 1") == [["1"]])
    }

    @Test("a bad PostgreSQL URL is a clear error, not a crash")
    func postgresRefused() {
        #expect {
            _ = try PostgresConnection(url: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
        } throws: { error in
            "\(error)".contains("PostgreSQL connect failed")
        }
    }

    @Test("hiredis connects to the test Redis and round-trips values, pipelined")
    func redis() throws {
        let connection = try RedisConnection(url: serviceURL("HEARTBEAT_REDIS_URL"))
        #expect(try connection.command(["PING"]) == .status("PONG"))
        let key = "heartbeat:test:\(UUID().uuidString)"
        for value in 1...3 { try connection.append(["ZADD", key, "GT", String(value * 10), "app"]) }
        #expect(try (1...3).map { _ in try connection.readReply() } == [.integer(1), .integer(0), .integer(0)])
        #expect(try connection.command(["ZSCORE", key, "app"]).text == "30")
        #expect(try connection.command(["ZADD", key, "GT", "5", "app"]) == .integer(0))
        #expect(try connection.command(["ZSCORE", key, "app"]).text == "30")
        if case .error = try connection.command(["NO-SUCH-COMMAND"]) {} else { Issue.record("expected an error reply") }
        #expect(try connection.command(["DEL", key]) == .integer(1))
    }

    @Test("Redis URLs parse, and bad ones are refused")
    func redisURLs() {
        #expect(RedisURL("redis://127.0.0.1:6379") == RedisURL("redis://127.0.0.1:6379/0"))
        #expect(RedisURL("redis://[::1]:7000/3").map { [$0.host, String($0.port), String($0.database)] } == ["::1", "7000", "3"])
        for bad in ["http://127.0.0.1:6379", "redis://127.0.0.1", "redis://:6379", "redis://h:0", "redis://h:70000", "redis://h:1/x"] {
            #expect(RedisURL(bad) == nil, "\(bad)")
        }
    }
}
