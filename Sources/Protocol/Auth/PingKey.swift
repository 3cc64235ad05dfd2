/// The key a signed application's HTTP pings carry (`Authorization: Bearer <ping key>`): the first
/// 16 bytes of HMAC-SHA256(secret, ``message``), as 32 lowercase hex characters.
///
/// Derived, so a ping proves the application's secret without sending it, and rotating the secret
/// rotates the key. Unlike a signed record it is the same on every ping, so anyone who sees one can
/// replay it: `Spec/http-ping.md` says so and asks for TLS in front.
public enum PingKey {
    /// What the HMAC signs: this label, zero-padded to 48 bytes — the length a record's tag covers,
    /// so the pre-keyed state the registry already holds computes it in two compressions.
    public static let message: [UInt8] = {
        var bytes = Array("heartbeat http ping key v1".utf8)
        bytes.append(contentsOf: repeatElement(0, count: WireFormat.tagSize * 3 - bytes.count))
        return bytes
    }()

    /// The ping key of `key`'s secret.
    public static func derive(_ key: TagKey) -> RecordTag {
        message.withUnsafeBytes { key.tag(signing: $0.baseAddress!) }
    }

    /// The ping key of `secret`, as shown to people (32 hex characters).
    public static func hex(for secret: ApplicationSecret) -> String {
        derive(TagKey(secret: secret)).description
    }

    /// Reads a ping key from its 32-character hex form; nil when it is not one.
    public static func parse<Text: StringProtocol>(_ text: Text) -> RecordTag? {
        guard text.utf8.count == 32, let bytes = HexDigits.bytes(text) else { return nil }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return RecordTag(high: high, low: low)
    }
}
