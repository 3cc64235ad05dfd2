@testable import Collector
import Foundation
import HeartbeatTestSupport
import Testing

/// Commands written straight into the Redis wire protocol, checked byte for byte and against Redis.
@Suite("RESP command writer")
struct RESPWriterTests {
    @Test("bulk strings and decimal integers, including 0, negatives and Int64 extremes")
    func bytes() {
        var command = RESPWriter(argumentCount: 5)
        command.argument("ZADD")
        command.argument(0)
        command.argument(-42)
        command.argument(Int64.max)
        command.argument(Int64.min)
        let text = String(decoding: command.bytes, as: UTF8.self)
        #expect(text == "*5\r\n$4\r\nZADD\r\n$1\r\n0\r\n$3\r\n-42\r\n$19\r\n9223372036854775807\r\n$20\r\n-9223372036854775808\r\n")
    }

    @Test("a pipelined ZADD GT written this way is what Redis stores")
    func againstRedis() throws {
        let connection = try RedisConnection(url: serviceURL("HEARTBEAT_REDIS_URL"))
        let key = "heartbeat:test:\(UUID().uuidString)"
        var command = RESPWriter(argumentCount: 3 + 2 * 1_000)
        command.argument("ZADD")
        command.argument(key)
        command.argument("GT")
        for member in 0..<1_000 {
            command.argument(Int64(1_764_470_000_000_000 + member))
            command.argument(Int64(member))
        }
        try connection.appendFormatted(command.bytes)
        #expect(try connection.readReply() == .integer(1_000))
        #expect(try connection.command(["ZSCORE", key, "999"]).text == "1764470000000999")
        #expect(try connection.command(["ZCARD", key]) == .integer(1_000))
        _ = try connection.command(["DEL", key])
    }
}
