import CSHA256
import Protocol
import Testing

@Suite("Ping key")
struct PingKeyTests {
    @Test("the ping key is the first 16 bytes of HMAC-SHA256(secret, the padded label), by an independent HMAC")
    func derivation() throws {
        for _ in 0..<20 {
            let secret = ApplicationSecret.random()
            var full = [UInt8](repeating: 0, count: 32)
            let message = Array("heartbeat http ping key v1".utf8) + [UInt8](repeating: 0, count: 22)
            #expect(PingKey.message == message && message.count == 48)
            #expect(hb_hmac_sha256_reference(secret.bytes, secret.bytes.count, message, message.count, &full) == 1)
            let expected = full[0..<16].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            #expect(PingKey.hex(for: secret) == expected)
            #expect(PingKey.parse(expected) == PingKey.derive(TagKey(secret: secret)))
        }
    }

    @Test("a ping key is 32 hex characters; anything else does not parse", arguments: ["", "abc", String(repeating: "g", count: 32), String(repeating: "a", count: 33), String(repeating: "a", count: 64)])
    func parse(_ text: String) {
        #expect(PingKey.parse(text) == nil)
    }
}
