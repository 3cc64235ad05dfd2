/// An application's shared secret: 32 random bytes, shown and configured as 64 lowercase hex
/// characters.
///
/// `description` is redacted so that a secret never reaches a log by accident; use `hexString`
/// where it must be shown (once, when an application is created or rotated).
public struct ApplicationSecret: Hashable, Sendable, CustomStringConvertible {
    /// Length of every secret in bytes.
    public static let byteCount = 32

    /// The 32 secret bytes.
    public let bytes: [UInt8]

    /// Why a text could not be read as a secret.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// The text had `length` characters instead of 64.
        case wrongLength(Int)
        /// The text had a character that is not a hex digit.
        case notHex

        public var description: String {
            switch self {
            case .wrongLength(let length):
                "a secret is 64 hex characters (32 bytes); got \(length) characters"
            case .notHex:
                "a secret is 64 hex characters (0-9, a-f); got a character outside that set"
            }
        }
    }

    /// Reads a secret from its 64-character hex form. Surrounding white space (a trailing newline
    /// in a secret file, say) is ignored.
    public init(hex text: String) throws(ParseError) {
        let characters = Array(text.utf8)
        var start = characters.startIndex
        var end = characters.endIndex
        while start < end, Self.isWhiteSpace(characters[start]) { start += 1 }
        while end > start, Self.isWhiteSpace(characters[end - 1]) { end -= 1 }
        let core = characters[start..<end]
        guard core.count == Self.byteCount * 2 else { throw .wrongLength(core.count) }
        guard let bytes = HexDigits.bytes(String(decoding: core, as: UTF8.self)) else {
            throw .notHex
        }
        self.bytes = bytes
    }

    /// A secret with exactly these 32 bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "an application secret is exactly 32 bytes")
        self.bytes = bytes
    }

    /// A new secret from the system's cryptographic random source.
    public static func random() -> ApplicationSecret {
        var generator = SystemRandomNumberGenerator()
        return ApplicationSecret(bytes: (0..<byteCount).map { _ in generator.next() })
    }

    /// The 64 lowercase hex characters.
    public var hexString: String { HexDigits.lowercase(bytes: bytes) }

    /// Redacted: secrets are never printed by accident.
    public var description: String { "ApplicationSecret(redacted)" }

    private static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\t")
    }
}
