import Protocol

/// A read-only view of a binary COPY body that ``BinaryCopyEncoder`` wrote (a batch in memory or a
/// spool file's body): its rows are found by position, because every row has the same 72 bytes.
/// Lets a refused batch be split into smaller bodies without decoding and re-encoding it, and its
/// bad rows be read back for the dead-letter file.
public struct CopyBody {
    /// The whole body: header, rows, trailer.
    public let bytes: UnsafeRawBufferPointer
    /// Rows in the body.
    public let rowCount: Int

    static let headerSize = 19
    static let trailerSize = 2

    /// A view of `bytes`, or `nil` when they are not a body of whole 72-byte heartbeat rows (a spool
    /// file that passed its checksum but was not written by this encoder).
    public init?(_ bytes: UnsafeRawBufferPointer) {
        let rowBytes = bytes.count - Self.headerSize - Self.trailerSize
        guard rowBytes >= 0, rowBytes % BinaryCopyEncoder.bytesPerRow == 0,
            bytes.prefix(Self.headerSize).elementsEqual(BinaryCopyEncoder.header),
            bytes.suffix(Self.trailerSize).elementsEqual([0xFF, 0xFF])
        else { return nil }
        self.bytes = bytes
        rowCount = rowBytes / BinaryCopyEncoder.bytesPerRow
        for row in 0..<rowCount {
            // Each row starts with its field count, 7; anything else is not our layout.
            guard UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset(ofRow: row), as: UInt16.self)) == 7 else { return nil }
        }
    }

    func offset(ofRow row: Int) -> Int {
        Self.headerSize + row * BinaryCopyEncoder.bytesPerRow
    }

    /// The 72 encoded bytes of `row`.
    public func encodedRow(_ row: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset(ofRow: row)..<offset(ofRow: row) + BinaryCopyEncoder.bytesPerRow])
    }

    /// The values of `row`, decoded (the inverse of ``BinaryCopyEncoder/append(_:)``).
    public func row(_ row: Int) -> HeartbeatRow {
        let base = offset(ofRow: row)
        func load<T: FixedWidthInteger>(_ fieldOffset: Int, as type: T.Type) -> T {
            T(bigEndian: bytes.loadUnaligned(fromByteOffset: base + fieldOffset, as: T.self))
        }
        return HeartbeatRow(
            applicationID: load(6, as: Int32.self),
            kind: RecordKind(rawValue: UInt8(truncatingIfNeeded: load(62, as: Int16.self))) ?? .beat,
            instance: UInt32(truncatingIfNeeded: load(38, as: Int64.self)),
            sequence: UInt64(bitPattern: load(50, as: Int64.self)),
            receivedAtMicros: load(14, as: Int64.self) &+ BinaryCopyEncoder.postgresEpochOffsetMicros,
            sentAtMicros: load(26, as: Int64.self) &+ BinaryCopyEncoder.postgresEpochOffsetMicros,
            status: load(68, as: Int32.self))
    }

    /// A complete body of the rows in `ranges`, in order, appended to `output` (which is emptied first).
    public func body(of ranges: [Range<Int>], into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        output.append(contentsOf: BinaryCopyEncoder.header)
        for range in ranges where !range.isEmpty {
            output.append(contentsOf: bytes[offset(ofRow: range.lowerBound)..<offset(ofRow: range.upperBound)])
        }
        output.append(contentsOf: [0xFF, 0xFF])
    }

    /// The distinct days (since 1970-01-01, UTC) of the rows' `received_at` in `range`, at most `limit`.
    public func receivedDays(in range: Range<Int>, limit: Int) -> [Int64] {
        var days = Set<Int64>()
        for index in range {
            days.insert(PartitionMaintainer.day(ofMicros: row(index).receivedAtMicros))
            if days.count >= limit { break }
        }
        return days.sorted()
    }
}
