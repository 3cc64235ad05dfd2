/// Constants of heartbeat wire format v1. `Spec/protocol.md` is the authoritative description;
/// this is its byte diagram in code.
///
/// One record is 64 bytes, integers big-endian:
///
///     offset size field     meaning
///          0    2 magic     0x48 0x42 ("HB")
///          2    1 version   1
///          3    1 kind      0 beat, 1 start, 2 success, 3 fail, 4 stop
///          4   16 app       application UUID, RFC 9562 byte order
///         20    4 instance  u32 chosen at random by the sending process
///         24    8 seq       u64, 1 for an (app, instance)'s first record, +1 for each next
///         32    8 sent_at   i64 Unix time in microseconds, sender's clock
///         40    4 interval  u32 ms until the next record is due; 0 = the registry's
///         44    4 status    i32 exit code for success/fail, application-defined otherwise
///         48   16 tag       first 16 bytes of HMAC-SHA256(secret, bytes 0..<48); zero = unsigned
///
/// A datagram carries 1 to 16 records back to back (64 to 1024 bytes).
public enum WireFormat {
    /// Size of one record in bytes.
    public static let recordSize = 64
    /// Records a datagram may carry at most; 16 × 64 = 1024 bytes stays under the IPv6 minimum MTU.
    public static let maximumRecordsPerDatagram = 16
    /// Largest valid datagram in bytes.
    public static let maximumDatagramSize = recordSize * maximumRecordsPerDatagram
    /// The protocol version this module reads and writes.
    public static let version: UInt8 = 1
    /// The two magic bytes "HB", as a big-endian 16-bit value.
    public static let magic: UInt16 = 0x4842
    /// Size of the tag: the first 16 bytes of an HMAC-SHA256.
    public static let tagSize = 16
    /// The earliest `sent_at` a record may carry: 0001-01-01T00:00:00Z in Unix microseconds.
    /// Outside years 1-9999 a time can be neither written in RFC 3339 nor, at the far end, stored
    /// by PostgreSQL, and one such row would fail its whole COPY batch: such records are `malformed`.
    public static let earliestSentAtMicros: Int64 = -62_135_596_800_000_000
    /// The latest `sent_at` a record may carry: 9999-12-31T23:59:59.999999Z in Unix microseconds.
    public static let latestSentAtMicros: Int64 = 253_402_300_799_999_999

    /// Field offsets inside a record.
    @usableFromInline
    enum Offset {
        static let magic = 0
        static let version = 2
        static let kind = 3
        static let application = 4
        static let instance = 20
        static let sequence = 24
        static let sentAt = 32
        static let interval = 40
        static let status = 44
        @usableFromInline static let tag = 48
    }

    /// How many records a datagram of `length` bytes carries, or `nil` when the length is not a
    /// positive multiple of 64 up to 1024 (the whole datagram is then `malformed`).
    @inlinable
    public static func recordCount(datagramLength length: Int) -> Int? {
        guard length > 0, length <= maximumDatagramSize, length & (recordSize - 1) == 0 else {
            return nil
        }
        return length >> 6
    }
}
