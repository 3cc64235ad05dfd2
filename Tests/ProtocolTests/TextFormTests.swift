import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Text forms: UUIDs, secrets, kinds, reasons")
struct TextFormTests {
    @Test("UUIDs parse from and print to the canonical form")
    func uuids() throws {
        let uuid = try #require(ApplicationUUID("0B8F1F8E-3c6a-4f0e-9a51-6c1d2e3f4a5b"))
        #expect(uuid.description == "0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b")
        #expect(uuid.high == 0x0b8f_1f8e_3c6a_4f0e && uuid.low == 0x9a51_6c1d_2e3f_4a5b)
        for bad in ["", "0b8f1f8e3c6a4f0e9a516c1d2e3f4a5b", "0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5", "0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5bb",
                    "0b8f1f8e-3c6a-4f0e-9a51_6c1d2e3f4a5b", "0b8f1f8g-3c6a-4f0e-9a51-6c1d2e3f4a5b"] {
            #expect(ApplicationUUID(bad) == nil, "\(bad)")
        }
        var generator = SplitMix64(seed: propertySeed())
        for _ in 0..<1000 {
            let random = ApplicationUUID.random(using: &generator)
            #expect(ApplicationUUID(random.description) == random)
            #expect(random.high >> 12 & 0xF == 4, "version 4")
            #expect(random.low >> 62 == 0b10, "RFC 9562 variant")
        }
    }

    @Test("secrets: 64 hex characters, white space trimmed, never printed")
    func secrets() throws {
        let text = String(repeating: "ab", count: 32)
        let secret = try ApplicationSecret(hex: " \(text.uppercased())\n")
        #expect(secret.hexString == text)
        #expect(!"\(secret)".contains("ab"))
        #expect(throws: ApplicationSecret.ParseError.wrongLength(62)) { try ApplicationSecret(hex: String(text.dropFirst(2))) }
        #expect(throws: ApplicationSecret.ParseError.notHex) { try ApplicationSecret(hex: String(text.dropFirst()) + "z") }
        #expect(ApplicationSecret.random() != ApplicationSecret.random())
    }

    @Test("kind and reason labels round-trip")
    func labels() {
        for kind in RecordKind.allCases { #expect(RecordKind(name: kind.description) == kind) }
        for reason in RejectionReason.allCases { #expect(RejectionReason(label: reason.description) == reason) }
        #expect(RejectionReason.allCases.map(\.description) == [
            "malformed", "version", "unknown_app", "disabled", "auth", "stale", "replay", "rate_limited", "overload", "instance_limit",
        ])
    }
}
