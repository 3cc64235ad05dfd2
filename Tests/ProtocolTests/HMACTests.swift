import CSHA256
import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Pre-keyed HMAC-SHA256 tag")
struct HMACTests {
    /// RFC 4231 test cases 1, 2 and 6 (6 has a 131-byte key, which HMAC hashes first).
    static let rfc4231: [(key: [UInt8], message: [UInt8], digest: String)] = [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ]

    @Test("the reference HMAC agrees with RFC 4231")
    func referenceMatchesRFC() {
        for (key, message, digest) in Self.rfc4231 {
            var output = [UInt8](repeating: 0, count: 32)
            #expect(hb_hmac_sha256_reference(key, key.count, message, message.count, &output) == 1)
            #expect(hex(output) == digest)
        }
    }

    @Test("the pre-keyed tag equals the reference HMAC's first 16 bytes, for keys of every length")
    func preKeyedMatchesReference() {
        let seed = propertySeed()
        var generator = SplitMix64(seed: seed)
        for keyLength in [0, 1, 20, 32, 63, 64, 65, 131] + (0..<200).map({ _ in Int.random(in: 0...200, using: &generator) }) {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let message = (0..<48).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var reference = [UInt8](repeating: 0, count: 32)
            _ = hb_hmac_sha256_reference(key, key.count, message, 48, &reference)
            let tag = message.withUnsafeBytes { TagKey(keyBytes: key).tag(signing: $0.baseAddress!) }
            #expect(tag.description == hex(reference.prefix(16)), "key length \(keyLength), seed \(seed)")
        }
    }

    @Test("verifyTag checks a whole signed record and refuses a changed byte")
    func verifyWholeRecord() {
        let secret = ApplicationSecret.random()
        let key = TagKey(secret: secret)
        var record = HeartbeatRecord(kind: .success, application: .random(), instance: 9, sequence: 4, sentAtMicros: 1)
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes.withUnsafeMutableBytes { record.encodeSigned(with: key, to: $0.baseAddress!) }
        #expect(bytes.withUnsafeBytes { key.verifyTag(of: $0.baseAddress!) })
        #expect(bytes.withUnsafeBytes { !TagKey(secret: .random()).verifyTag(of: $0.baseAddress!) })
        for index in 0..<64 {
            var changed = bytes
            changed[index] ^= 0x80
            #expect(changed.withUnsafeBytes { !key.verifyTag(of: $0.baseAddress!) }, "byte \(index)")
        }
    }

    @Test("verify accepts the right tag and refuses any single flipped bit")
    func verifyRefusesFlippedBits() {
        let key = TagKey(secret: ApplicationSecret.random())
        let message = (0..<48).map { UInt8($0) }
        message.withUnsafeBytes { prefix in
            let tag = key.tag(signing: prefix.baseAddress!)
            #expect(key.verify(tag, signing: prefix.baseAddress!))
            #expect(!tag.isZero)
            for bit in 0..<128 {
                let flipped =
                    bit < 64
                    ? RecordTag(high: tag.high ^ (1 << UInt64(bit)), low: tag.low)
                    : RecordTag(high: tag.high, low: tag.low ^ (1 << UInt64(bit - 64)))
                #expect(!key.verify(flipped, signing: prefix.baseAddress!), "bit \(bit)")
            }
        }
    }
}
