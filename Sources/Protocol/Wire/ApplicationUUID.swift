/// An application's UUID as it travels on the wire: 16 bytes in RFC 9562 order, held as two
/// big-endian halves so that comparing and hashing it costs two integer operations.
public struct ApplicationUUID: Hashable, Sendable, Comparable, BitwiseCopyable, CustomStringConvertible {
    /// Bytes 0..<8 of the UUID, read big-endian.
    public var high: UInt64
    /// Bytes 8..<16 of the UUID, read big-endian.
    public var low: UInt64

    /// The UUID whose 16 bytes are `high` then `low`, both big-endian.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case).
    /// Returns `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        var text = Substring(text)
        guard let uuid = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = uuid
    }

    /// ``init(_:)`` for a `String` without a generic detour: status reads parse one per request.
    public init?(_ text: String) {
        var text = text
        guard let uuid = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = uuid
    }

    /// The canonical text form's UTF-8 bytes as a UUID, or nil.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ApplicationUUID? {
        guard bytes.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for position in 0..<36 {
            let byte = bytes[position]
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = HexDigits.value(of: byte) else { return nil }
            if digits < 16 {
                high = high << 4 | UInt64(value)
            } else {
                low = low << 4 | UInt64(value)
            }
            digits += 1
        }
        return ApplicationUUID(high: high, low: low)
    }

    /// Draws a random version-4 UUID (RFC 9562 §5.4) from `generator`.
    public static func random(using generator: inout some RandomNumberGenerator) -> ApplicationUUID {
        let high = (generator.next() as UInt64) & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let low = (generator.next() as UInt64) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return ApplicationUUID(high: high, low: low)
    }

    /// Draws a random version-4 UUID from the system's cryptographic generator.
    public static func random() -> ApplicationUUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// The canonical lowercase text form.
    public var description: String {
        // Written byte by byte: every status answer and page row formats one.
        String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    text[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                let value = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * (nibble % 16))) & 0x0F
                text[position] = value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
                position += 1
            }
            return 36
        }
    }

    public static func < (lhs: ApplicationUUID, rhs: ApplicationUUID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// Hexadecimal helpers shared by the text forms of UUIDs, secrets, tags, webhook signatures and
/// dead-lettered rows.
public enum HexDigits {
    /// The value of one ASCII hex digit (either case), or `nil`.
    @inline(__always)
    static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }

    /// `value` as 16 lowercase hex digits, zero-padded.
    static func lowercase(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// `bytes` as lowercase hex, two digits a byte.
    public static func lowercase(bytes: some Sequence<UInt8>) -> String {
        let alphabet = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in bytes {
            text.append(alphabet[Int(byte >> 4)])
            text.append(alphabet[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of an even-length hex string, or `nil` when it has a non-hex character or an odd
    /// length.
    static func bytes(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(of: utf8[index]), let low = value(of: utf8[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
