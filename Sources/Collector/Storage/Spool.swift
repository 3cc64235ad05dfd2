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
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SpoolError(description: "cannot create spool directory \(directory): \(error.localizedDescription)")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".spool") }.sorted()
        for name in names {
            let path = directory + "/" + name
            guard let header = try? Self.readHeader(path: path) else { continue }
            entries.append(Entry(path: path, rows: header.rows, bytes: header.bodyLength + Self.headerSize))
            totalBytes += header.bodyLength + Self.headerSize
            if let number = UInt64(name.dropLast(".spool".count)) { nextNumber = max(nextNumber, number + 1) }
        }
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
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        header.replaceSubrange(0..<8, with: Self.magic)
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(rows).bigEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: UInt64(body.count).bigEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: CRC32.checksum(body).bigEndian, toByteOffset: 24, as: UInt32.self)
        }
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SpoolError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let written = header.withUnsafeBytes { Self.writeAll(descriptor, $0) } && Self.writeAll(descriptor, body)
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written, synced, rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw SpoolError(description: "cannot write spool file \(path): \(message)")
        }
        entries.append(Entry(path: path, rows: rows, bytes: size))
        totalBytes += size
        nextNumber += 1
        return true
    }

    /// The body of `entry`, checked against its checksum.
    public func body(of entry: Entry) throws(SpoolError) -> [UInt8] {
        // Read straight into the header and the body's own buffer (one copy, no intermediate Data).
        let descriptor = open(entry.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SpoolError(description: "cannot read spool file \(entry.path)") }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        guard header.withUnsafeMutableBytes({ Self.readAll(descriptor, $0) }) else {
            throw SpoolError(description: "\(entry.path) is truncated")
        }
        guard Array(header[0..<8]) == Self.magic else { throw SpoolError(description: "\(entry.path) is not a spool file") }
        let (length, checksum) = header.withUnsafeBytes { raw in
            (Int(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))),
             UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        }
        // The length field is checked against the file before anything that size is allocated.
        var info = stat()
        guard fstat(descriptor, &info) == 0, length >= 0, Int(info.st_size) == Self.headerSize + length else {
            throw SpoolError(description: "\(entry.path) is truncated")
        }
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

    private static func readHeader(path: String) throws -> (rows: Int, bodyLength: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SpoolError(description: path) }
        defer { try? handle.close() }
        let header = [UInt8](handle.readData(ofLength: headerSize))
        guard header.count == headerSize, Array(header[0..<8]) == magic else { throw SpoolError(description: path) }
        return header.withUnsafeBytes { raw in
            (Int(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))),
             Int(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))))
        }
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
