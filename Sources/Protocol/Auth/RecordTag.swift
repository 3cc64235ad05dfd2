/// The 16-byte tag that closes a record: the first 16 bytes of HMAC-SHA256(secret, bytes 0..<48),
/// or all zero when the record is unsigned. Held as two big-endian halves.
public struct RecordTag: Hashable, Sendable, CustomStringConvertible {
    /// Bytes 48..<56 of the record, read big-endian.
    public var high: UInt64
    /// Bytes 56..<64 of the record, read big-endian.
    public var low: UInt64

    /// The all-zero tag of an unsigned record.
    public static let unsigned = RecordTag(high: 0, low: 0)

    /// The tag whose 16 bytes are `high` then `low`, both big-endian.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Whether every byte is zero (the record claims to be unsigned).
    @inlinable
    public var isZero: Bool { high | low == 0 }

    /// Compares two tags in time that does not depend on where they differ, so a forger learns
    /// nothing from how fast a wrong tag is refused.
    @inlinable
    public func constantTimeEquals(_ other: RecordTag) -> Bool {
        (high ^ other.high) | (low ^ other.low) == 0
    }

    /// 32 lowercase hex characters.
    public var description: String { HexDigits.lowercase(high) + HexDigits.lowercase(low) }
}
