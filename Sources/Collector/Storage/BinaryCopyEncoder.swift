/// Encodes ``HeartbeatRow``s in PostgreSQL's binary COPY format for
/// `COPY heartbeat_event (application_id, received_at, sent_at, instance, seq, kind, status)
/// FROM STDIN (FORMAT binary)`.
///
/// Layout: the 11-byte signature `PGCOPY\n\xFF\r\n\0`, int32 flags 0, int32 header-extension length
/// 0; per row an int16 field count, then per field an int32 length and the value in network byte
/// order (`timestamptz` is int64 microseconds since 2000-01-01 UTC); the trailer is int16 -1.
/// The buffer is reused between batches: encoding allocates only when a batch outgrows every
/// earlier one.
public struct BinaryCopyEncoder: ~Copyable {
    /// The column list, in the order rows are encoded.
    public static let columns = "application_id, received_at, sent_at, instance, seq, kind, status"
    /// The statement a body this encoder made is sent with.
    public static let copyStatement = "COPY heartbeat_event (\(columns)) FROM STDIN (FORMAT binary)"
    /// Bytes per encoded row: 2 + (4+4) + 4 × (4+8) + (4+2) + (4+4).
    public static let bytesPerRow = 72
    /// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
    public static let postgresEpochOffsetMicros: Int64 = 946_684_800_000_000

    /// The signature, flags and header-extension length every body starts with.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [UInt8](repeating: 0, count: 8)

    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Bytes encoded so far (header and rows; the trailer is added by ``finish()``).
    public private(set) var count = 0
    /// Rows encoded since the last ``reset()``.
    public private(set) var rows = 0

    /// An encoder with room for `rows` rows before it has to grow.
    public init(reservingRows rows: Int = 1_024) {
        capacity = Self.header.count + max(rows, 1) * Self.bytesPerRow + 2
        storage = .allocate(byteCount: capacity, alignment: 16)
        reset()
    }

    deinit {
        storage.deallocate()
    }

    /// Touches every byte of the buffer, so its memory is resident from now on (no page faults,
    /// and no growth of the resident size later).
    public mutating func prefault() {
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        reset()
    }

    /// Starts a new COPY body: just the header.
    public mutating func reset() {
        Self.header.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        count = Self.header.count
        rows = 0
    }

    /// Appends one row.
    public mutating func append(_ row: HeartbeatRow) {
        if count + Self.bytesPerRow + 2 > capacity { grow() }
        var cursor = storage + count
        func put<T: FixedWidthInteger>(_ value: T) {
            cursor.storeBytes(of: value.bigEndian, as: T.self)
            cursor += MemoryLayout<T>.size
        }
        put(Int16(7))
        put(Int32(4)); put(row.applicationID)
        put(Int32(8)); put(row.receivedAtMicros &- Self.postgresEpochOffsetMicros)
        put(Int32(8)); put(row.sentAtMicros &- Self.postgresEpochOffsetMicros)
        put(Int32(8)); put(Int64(row.instance))
        put(Int32(8)); put(Int64(bitPattern: row.sequence))
        put(Int32(2)); put(Int16(row.kind.rawValue))
        put(Int32(4)); put(row.status)
        count += Self.bytesPerRow
        rows += 1
    }

    /// Adds the trailer and gives the complete body to `body`. The rows stay: calling it again
    /// gives the same body (a writer whose COPY failed spools the very same bytes); ``reset()``
    /// starts the next batch.
    public mutating func finish<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if count + 2 > capacity { grow() }
        (storage + count).storeBytes(of: Int16(-1).bigEndian, as: Int16.self)
        return try body(UnsafeRawBufferPointer(start: storage, count: count + 2))
    }

    private mutating func grow() {
        let larger = capacity * 2
        let replacement = UnsafeMutableRawPointer.allocate(byteCount: larger, alignment: 16)
        replacement.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = replacement
        capacity = larger
    }
}
