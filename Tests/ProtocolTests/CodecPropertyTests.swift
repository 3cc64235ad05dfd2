import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Record codec properties")
struct CodecPropertyTests {
    @Test("decode(encode(r)) == r for random records")
    func roundTrip() throws {
        let seed = propertySeed()
        var generator = SplitMix64(seed: seed)
        var buffer = [UInt8](repeating: 0, count: 64)
        for _ in 0..<100_000 {
            let record = HeartbeatRecord.random(using: &generator)
            buffer.withUnsafeMutableBytes { record.encode(to: $0.baseAddress!) }
            let decoded = try buffer.withUnsafeBytes { try HeartbeatRecord.decode(from: $0) }
            #expect(decoded == record, "seed \(seed)")
            if decoded != record { break }
        }
    }

    @Test("random 64-byte buffers decode to a record or a typed rejection, never a trap")
    func randomBuffersNeverTrap() {
        let seed = propertySeed()
        var generator = SplitMix64(seed: seed)
        var buffer = [UInt8](repeating: 0, count: 64)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<200_000 {
            for index in 0..<64 { buffer[index] = UInt8.random(in: 0...255, using: &generator) }
            // Make half of them pass the header checks so the later checks are exercised too.
            // Make most of them pass the magic check (and half the version check) so that the
            // later checks are exercised too.
            if iteration % 3 != 0 {
                buffer[0] = 0x48
                buffer[1] = 0x42
                if iteration % 3 == 1 {
                    buffer[2] = 1
                    buffer[3] %= 6
                }
            }
            let outcome = buffer.withUnsafeBytes { bytes in
                Result { () throws(RejectionReason) in try HeartbeatRecord.decode(from: bytes) }
            }
            switch outcome {
            case .success(let record):
                outcomes["decoded", default: 0] += 1
                // A buffer that decodes is exactly the encoding of what it decodes to.
                #expect(record.encoded() == buffer, "seed \(seed)")
            case .failure(let reason):
                outcomes[reason.description, default: 0] += 1
            }
        }
        #expect(outcomes["decoded", default: 0] > 0)
        #expect(outcomes["malformed", default: 0] > 0)
        #expect(outcomes["version", default: 0] > 0)
        #expect(Set(outcomes.keys).isSubset(of: ["decoded", "malformed", "version"]))
    }

    @Test("datagram lengths: 1 to 16 whole records, nothing else")
    func datagramLengths() {
        for length in 0...2048 {
            let expected = length > 0 && length <= 1024 && length % 64 == 0 ? length / 64 : nil
            #expect(WireFormat.recordCount(datagramLength: length) == expected, "length \(length)")
        }
    }
}
