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
        for bad in ["http://127.0.0.1:6379", "redis://127.0.0.1", "redis://:6379", "redis://h:0", "redis://h:70000", "redis://h:1/x", "redis://nocolon@h:1"] {
            #expect(RedisURL(bad) == nil, "\(bad)")
        }
        let withPassword = RedisURL("redis://:p%40ss:w0rd@127.0.0.1:6379/2")
        #expect(withPassword?.password == "p@ss:w0rd" && withPassword?.user == nil && withPassword?.database == 2 && withPassword?.host == "127.0.0.1")
        let withUser = RedisURL("redis://alice:secret@[::1]:7000")
        #expect(withUser?.user == "alice" && withUser?.password == "secret" && withUser?.host == "::1")
        #expect(RedisURL.redacted("redis://alice:secret@h:1/0") == "redis://alice:***@h:1/0")
        #expect(RedisURL.redacted("redis://h:1") == "redis://h:1")
    }

    @Test("a Redis that requires a password: the URL's password authenticates; none or a wrong one is refused, and never printed")
    func redisPassword() throws {
        let redis = try PrivateRedis(password: "s3cret/with@symbols")
        let connection = try RedisConnection(url: redis.url)
        #expect(try connection.command(["PING"]) == .status("PONG"))
        let anonymous = try RedisConnection(url: "redis://127.0.0.1:\(redis.port)")
        guard case .error(let message) = try anonymous.command(["PING"]) else {
            Issue.record("PING without AUTH answered")
            return
        }
        #expect(message.contains("NOAUTH"))
        #expect {
            _ = try RedisConnection(url: "redis://:wrong-password@127.0.0.1:\(redis.port)")
        } throws: { error in
            "\(error)".contains("authenticate") && !"\(error)".contains("wrong-password")
        }
    }
}
