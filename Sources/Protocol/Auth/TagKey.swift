import CSHA256

/// A pre-keyed HMAC-SHA256 for one application secret: the chaining values after the key's inner
/// and outer pad blocks (64 bytes), so that signing or verifying a record costs two SHA-256 block
/// compressions and no allocation. Build one per secret when the registry loads; copy freely.
public struct TagKey: Sendable {
    @usableFromInline
    var state: hb_hmac_sha256_key

    @usableFromInline
    init(state: hb_hmac_sha256_key) {
        self.state = state
    }

    /// Derives the pre-keyed state of `secret`.
    public init(secret: ApplicationSecret) {
        self.init(keyBytes: secret.bytes)
    }

    /// Derives the pre-keyed state of an arbitrary HMAC key (tests use RFC 4231's keys).
    public init(keyBytes: [UInt8]) {
        var state = hb_hmac_sha256_key()
        keyBytes.withUnsafeBufferPointer { key in
            hb_hmac_sha256_key_init(&state, key.baseAddress, key.count)
        }
        self.state = state
    }

    /// The tag of the 48 bytes at `prefix` (a record's bytes 0..<48).
    @inlinable
    public func tag(signing prefix: UnsafeRawPointer) -> RecordTag {
        withUnsafeTemporaryAllocation(byteCount: WireFormat.tagSize, alignment: 8) { output in
            withUnsafePointer(to: state) { key in
                hb_hmac_sha256_tag48(
                    key, prefix.assumingMemoryBound(to: UInt8.self),
                    output.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return RecordTag(
                high: UInt64(bigEndian: output.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                low: UInt64(bigEndian: output.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// Whether `tag` is the right tag for the 48 bytes at `prefix`, compared in constant time.
    @inlinable
    public func verify(_ tag: RecordTag, signing prefix: UnsafeRawPointer) -> Bool {
        self.tag(signing: prefix).constantTimeEquals(tag)
    }

    /// Whether the 64-byte record at `record` carries the right tag, compared in constant time.
    @inlinable
    public func verifyTag(of record: UnsafeRawPointer) -> Bool {
        let bytes = record.assumingMemoryBound(to: UInt8.self)
        return withUnsafePointer(to: state) { key in
            hb_hmac_sha256_verify48(key, bytes, bytes + WireFormat.Offset.tag) == 1
        }
    }
}
