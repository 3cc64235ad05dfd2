import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where batches go when PostgreSQL cannot take them: one file per batch under a directory, each
/// the batch's binary COPY body behind a checksummed header, replayed oldest first when PostgreSQL
/// is back and deleted once stored. Files survive a restart and are picked up again.
///
/// File layout (big-endian): magic `HBSPOOL1` (8 bytes), rows (u64), body length (u64), CRC-32 of
/// the body (u32), 4 reserved zero bytes, then the body. A file is written under a temporary name,
/// synced and renamed, so a crash never leaves a half-written block under a real name.
///
/// The directory is created (or narrowed to) mode 0700 and every file is opened with `O_NOFOLLOW`,
/// so another local user can neither read the rows nor plant a link. A file found at start whose
/// name or header does not add up (lengths beyond the file, rows that do not fit the body, a
/// number that would overflow) is quarantined as `*.corrupt` and counted, never trusted.
///
/// Thread-safe: every method takes the spool's lock (spooling is the failure path, not the hot one).
public final class Spool: @unchecked Sendable {
    static let magic = Array("HBSPOOL1".utf8)
    static let headerSize = 32

    /// One spooled batch.
    public struct Entry: Sendable, Equatable {
        public let path: String
        public let rows: Int
        public let bytes: Int
    }

    /// Why a spool operation failed.
    public struct SpoolError: Error, CustomStringConvertible {
        public let description: String
    }

    public let directory: String
    public let capacityBytes: Int
    /// Files quarantined when the spool was opened (their headers' row counts cannot be trusted,
    /// so only files are counted).
    public private(set) var filesQuarantinedAtOpen = 0
    private let lock = NSLock()
    private var entries: [Entry] = []
    private var nextNumber: UInt64 = 1
    private var totalBytes = 0

    /// Opens (creating it if needed) the spool in `directory`, holding at most `capacityBytes`, and
    /// lists the batches a previous run left there.
    public init(directory: String, capacityBytes: Int) throws(SpoolError) {
        precondition(capacityBytes > 0, "the spool's capacity must be positive")
        self.directory = directory
        self.capacityBytes = capacityBytes
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SpoolError(description: "cannot create spool directory \(directory): \(error.localizedDescription)")
        }
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw SpoolError(description: "spool directory \(directory) is not a directory (a symbolic link is refused)")
        }
        if info.st_mode & 0o077 != 0 { chmod(directory, 0o700) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".spool") }.sorted()
        for name in names {
            let path = directory + "/" + name
            guard let number = Self.number(ofFileNamed: name), let header = Self.readHeader(path: path) else {
                rename(path, path + ".corrupt")
                filesQuarantinedAtOpen += 1
                continue
            }
            entries.append(Entry(path: path, rows: header.rows, bytes: header.bodyLength + Self.headerSize))
            totalBytes += header.bodyLength + Self.headerSize
            nextNumber = max(nextNumber, number + 1)
        }
    }

    /// The largest file number: 20 decimal digits are written, and the next number must still fit.
    static let maximumFileNumber: UInt64 = 99_999_999_999_999_999

    /// The number in a name `NNNNNNNNNNNNNNNNNNNN.spool` (20 digits), or nil when the name is not
    /// one this spool writes.
    static func number(ofFileNamed name: String) -> UInt64? {
        let digits = name.utf8.dropLast(".spool".utf8.count)
        guard digits.count == 20, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let number = UInt64(String(decoding: digits, as: UTF8.self)), number <= maximumFileNumber
        else { return nil }
        return number
    }

    /// Batches waiting, oldest first.
    public var pending: [Entry] { lock.withLock { entries } }
    /// Rows waiting.
    public var pendingRows: Int { lock.withLock { entries.reduce(0) { $0 + $1.rows } } }
    /// Bytes used.
    public var pendingBytes: Int { lock.withLock { totalBytes } }

    /// Stores a batch. Returns `false` (storing nothing) when it would exceed the capacity.
    public func append(body: UnsafeRawBufferPointer, rows: Int) throws(SpoolError) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let size = body.count + Self.headerSize
        guard totalBytes + size <= capacityBytes else { return false }
        let name = String(repeating: "0", count: max(0, 20 - String(nextNumber).count)) + String(nextNumber) + ".spool"
        let path = directory + "/" + name
        guard nextNumber <= Self.maximumFileNumber else { throw SpoolError(description: "spool file numbers exhausted in \(directory)") }
        try Self.writeFile(path: path, body: body, rows: rows)
        entries.append(Entry(path: path, rows: rows, bytes: size))
        totalBytes += size
        nextNumber += 1
        return true
    }

    /// Replaces `entry`'s file with `body` (`rows` rows) under the same name, atomically: what is
    /// left of a batch after part of it was stored. Returns the entry as it now is.
    @discardableResult
    public func replace(_ entry: Entry, body: UnsafeRawBufferPointer, rows: Int) throws(SpoolError) -> Entry {
        lock.lock()
        defer { lock.unlock() }
        guard let index = entries.firstIndex(of: entry) else { return entry }
        try Self.writeFile(path: entry.path, body: body, rows: rows)
        let replacement = Entry(path: entry.path, rows: rows, bytes: body.count + Self.headerSize)
        totalBytes += replacement.bytes - entry.bytes
        entries[index] = replacement
        return replacement
    }

    /// Writes a spool file under a temporary name, syncs it and renames it to `path`.
    private static func writeFile(path: String, body: UnsafeRawBufferPointer, rows: Int) throws(SpoolError) {
        var header = [UInt8](repeating: 0, count: headerSize)
        header.replaceSubrange(0..<8, with: magic)
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(rows).bigEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: UInt64(body.count).bigEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: CRC32.checksum(body).bigEndian, toByteOffset: 24, as: UInt32.self)
        }
        let temporary = path + ".tmp"
        unlink(temporary)  // a leftover of a crash (or a planted link): O_EXCL below then refuses anything racing in
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SpoolError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let written = header.withUnsafeBytes { writeAll(descriptor, $0) } && writeAll(descriptor, body)
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written, synced, rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw SpoolError(description: "cannot write spool file \(path): \(message)")
        }
    }

    /// The body of `entry`, checked against its checksum.
    public func body(of entry: Entry) throws(SpoolError) -> [UInt8] {
        // Read straight into the header and the body's own buffer (one copy, no intermediate Data).
        let descriptor = open(entry.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw SpoolError(description: "cannot read spool file \(entry.path)") }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        guard header.withUnsafeMutableBytes({ Self.readAll(descriptor, $0) }) else {
            throw SpoolError(description: "\(entry.path) is truncated")
        }
        guard Array(header[0..<8]) == Self.magic else { throw SpoolError(description: "\(entry.path) is not a spool file") }
        let (lengthField, checksum) = header.withUnsafeBytes { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
             UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        }
        // The length field is checked against the file before anything that size is allocated.
        var info = stat()
        guard fstat(descriptor, &info) == 0, lengthField == UInt64(max(0, Int(info.st_size) - Self.headerSize)),
            Int(info.st_size) >= Self.headerSize
        else {
            throw SpoolError(description: "\(entry.path) is truncated")
        }
        let length = Int(lengthField)
        var body = [UInt8](repeating: 0, count: length)
        guard body.withUnsafeMutableBytes({ Self.readAll(descriptor, $0) }), read(descriptor, &header, 1) == 0 else {
            throw SpoolError(description: "\(entry.path) is truncated")
        }
        guard body.withUnsafeBytes({ CRC32.checksum($0) }) == checksum else {
            throw SpoolError(description: "\(entry.path) fails its checksum")
        }
        return body
    }

    /// Reads exactly `buffer.count` bytes; false at an early end of file or on an error.
    private static func readAll(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let count = read(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }

    /// Forgets `entry` and deletes its file (after it was stored, or set aside as corrupt).
    public func remove(_ entry: Entry) {
        lock.withLock {
            unlink(entry.path)
            if let index = entries.firstIndex(of: entry) {
                totalBytes -= entries[index].bytes
                entries.remove(at: index)
            }
        }
    }

    /// Renames a damaged file to `*.corrupt` (kept for inspection, never replayed) and forgets it.
    public func quarantine(_ entry: Entry) {
        lock.withLock {
            rename(entry.path, entry.path + ".corrupt")
            if let index = entries.firstIndex(of: entry) {
                totalBytes -= entries[index].bytes
                entries.remove(at: index)
            }
        }
    }

    /// A file's header, or nil when it is not a spool file whose header adds up: the magic, a body
    /// length equal to the file's size less the header, and a row count that is exactly what the
    /// body's 72-byte rows make. All arithmetic on the fields is checked.
    static func readHeader(path: String) -> (rows: Int, bodyLength: Int)? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: headerSize)
        var info = stat()
        guard header.withUnsafeMutableBytes({ readAll(descriptor, $0) }), Array(header[0..<8]) == magic,
            fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG
        else { return nil }
        let (rows, length) = header.withUnsafeBytes { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        }
        guard rows <= UInt64(Int.max / BinaryCopyEncoder.bytesPerRow), length <= UInt64(Int.max - headerSize) else { return nil }
        guard Int(info.st_size) == headerSize + Int(length),
            Int(length) == CopyBody.headerSize + Int(rows) * BinaryCopyEncoder.bytesPerRow + CopyBody.trailerSize
        else { return nil }
        return (Int(rows), Int(length))
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
