/// One heartbeat record of wire format v1, decoded. Encoding and decoding work on raw buffers and
/// never allocate; the byte layout is documented on ``WireFormat`` and in `Spec/protocol.md`.
public struct HeartbeatRecord: Hashable, Sendable {
    /// What the record says about the application.
    public var kind: RecordKind
    /// The application the record speaks for.
    public var application: ApplicationUUID
    /// Chosen at random by the sending process and fixed for its life.
    public var instance: UInt32
    /// 1 for the first record an (application, instance) sends, +1 for each next. Never 0.
    public var sequence: UInt64
    /// When the sender sent the record: Unix time in microseconds, by the sender's clock.
    public var sentAtMicros: Int64
    /// Milliseconds until the sender's next record is due; 0 means "use the registry's interval".
    public var intervalMillis: UInt32
    /// Exit code for `success`/`fail`, application-defined for other kinds.
    public var status: Int32
    /// The authentication tag; ``RecordTag/unsigned`` when unsigned.
    public var tag: RecordTag

    /// A record with these fields; unsigned (zero tag) unless a tag is given.
    public init(
        kind: RecordKind, application: ApplicationUUID, instance: UInt32, sequence: UInt64,
        sentAtMicros: Int64, intervalMillis: UInt32 = 0, status: Int32 = 0, tag: RecordTag = .unsigned
    ) {
        self.kind = kind
        self.application = application
        self.instance = instance
        self.sequence = sequence
        self.sentAtMicros = sentAtMicros
        self.intervalMillis = intervalMillis
        self.status = status
        self.tag = tag
    }
}

extension ApplicationUUID {
    /// The application UUID of the wire record at `bytes` (bytes 4..<20), read without checking
    /// anything else — what decoding uses, and what a receiver reads to start a registry lookup
    /// before the record is decoded, or to report an unknown application.
    ///
    /// - Precondition: `bytes` points at a record's first 20 readable bytes (any alignment).
    @inlinable
    public init(ofRecordAt bytes: UnsafeRawPointer) {
        self.init(
            high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt64.self)),
            low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self)))
    }
}

extension HeartbeatRecord {
    /// Decodes the 64 bytes at `bytes`. Checks, in order: magic (`malformed`), version
    /// (`version`), kind (`malformed`), sequence 0 (`malformed`), `sent_at` outside years 1-9999
    /// (`malformed`, for unsigned records too: see ``WireFormat/earliestSentAtMicros``). Authentication and everything
    /// that needs the registry is ``RecordValidator``'s job.
    ///
    /// - Precondition: `bytes` points at 64 readable bytes (any alignment).
    @inlinable
    public static func decode(from bytes: UnsafeRawPointer) throws(RejectionReason) -> HeartbeatRecord {
        guard UInt16(bigEndian: bytes.loadUnaligned(as: UInt16.self)) == WireFormat.magic else {
            throw .malformed
        }
        guard bytes.load(fromByteOffset: 2, as: UInt8.self) == WireFormat.version else {
            throw .version
        }
        guard let kind = RecordKind(rawValue: bytes.load(fromByteOffset: 3, as: UInt8.self)) else {
            throw .malformed
        }
        let sequence = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        guard sequence != 0 else { throw .malformed }
        let sentAtMicros = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: 32, as: Int64.self))
        guard sentAtMicros >= WireFormat.earliestSentAtMicros, sentAtMicros <= WireFormat.latestSentAtMicros else {
            throw .malformed
        }
        return HeartbeatRecord(
            kind: kind,
            application: ApplicationUUID(ofRecordAt: bytes),
            instance: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self)),
            sequence: sequence,
            sentAtMicros: sentAtMicros,
            intervalMillis: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 40, as: UInt32.self)),
            status: Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: 44, as: Int32.self)),
            tag: RecordTag(
                high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 48, as: UInt64.self)),
                low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 56, as: UInt64.self))))
    }

    /// Decodes a buffer that must hold exactly one record.
    ///
    /// - Precondition: `buffer.count == 64`.
    public static func decode(from buffer: UnsafeRawBufferPointer) throws(RejectionReason) -> HeartbeatRecord {
        precondition(buffer.count == WireFormat.recordSize, "a record is exactly 64 bytes")
        return try decode(from: buffer.baseAddress!)
    }

    /// Writes the record's 64 bytes, with its current ``tag``, to `bytes`.
    ///
    /// - Precondition: `bytes` points at 64 writable bytes (any alignment).
    @inlinable
    public func encode(to bytes: UnsafeMutableRawPointer) {
        bytes.storeBytes(of: WireFormat.magic.bigEndian, toByteOffset: 0, as: UInt16.self)
        bytes.storeBytes(of: WireFormat.version, toByteOffset: 2, as: UInt8.self)
        bytes.storeBytes(of: kind.rawValue, toByteOffset: 3, as: UInt8.self)
        bytes.storeBytes(of: application.high.bigEndian, toByteOffset: 4, as: UInt64.self)
        bytes.storeBytes(of: application.low.bigEndian, toByteOffset: 12, as: UInt64.self)
        bytes.storeBytes(of: instance.bigEndian, toByteOffset: 20, as: UInt32.self)
        bytes.storeBytes(of: sequence.bigEndian, toByteOffset: 24, as: UInt64.self)
        bytes.storeBytes(of: sentAtMicros.bigEndian, toByteOffset: 32, as: Int64.self)
        bytes.storeBytes(of: intervalMillis.bigEndian, toByteOffset: 40, as: UInt32.self)
        bytes.storeBytes(of: status.bigEndian, toByteOffset: 44, as: Int32.self)
        bytes.storeBytes(of: tag.high.bigEndian, toByteOffset: 48, as: UInt64.self)
        bytes.storeBytes(of: tag.low.bigEndian, toByteOffset: 56, as: UInt64.self)
    }

    /// Sets ``tag`` to the HMAC of the record's first 48 bytes under `key`, or to zero when `key`
    /// is `nil`, then writes all 64 bytes to `bytes`.
    ///
    /// - Precondition: `bytes` points at 64 writable bytes (any alignment).
    @inlinable
    public mutating func encodeSigned(with key: TagKey?, to bytes: UnsafeMutableRawPointer) {
        tag = .unsigned
        encode(to: bytes)
        if let key {
            tag = key.tag(signing: UnsafeRawPointer(bytes))
            bytes.storeBytes(of: tag.high.bigEndian, toByteOffset: 48, as: UInt64.self)
            bytes.storeBytes(of: tag.low.bigEndian, toByteOffset: 56, as: UInt64.self)
        }
    }

    /// The record's 64 bytes as an array (allocates; for tests, tools and the command line).
    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: WireFormat.recordSize) { buffer, count in
            encode(to: UnsafeMutableRawPointer(buffer.baseAddress!))
            count = WireFormat.recordSize
        }
    }
}
