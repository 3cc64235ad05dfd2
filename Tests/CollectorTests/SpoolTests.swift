import Collector
import Foundation
import Protocol
import Testing

@Suite("Spool")
struct SpoolTests {
    func directory() -> String { NSTemporaryDirectory() + "heartbeat-spool-test-\(UUID().uuidString)" }

    /// A COPY body of `rows` rows, each carrying `marker` as its status.
    func body(rows: Int, marker: Int32) -> [UInt8] {
        var encoder = BinaryCopyEncoder(reservingRows: rows)
        for index in 0..<rows {
            encoder.append(HeartbeatRow(
                applicationID: 1, kind: .beat, instance: 1, sequence: UInt64(index + 1), receivedAtMicros: 0, sentAtMicros: 0, status: marker))
        }
        return encoder.finish { Array($0) }
    }

    @Test("batches round-trip in order, survive a reopen, and the cap refuses without storing")
    func roundTripAndCap() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = body(rows: 3, marker: 1)
        let second = body(rows: 4, marker: 2)
        let capacity = first.count + second.count + 2 * 32 + 10
        let spool = try Spool(directory: path, capacityBytes: capacity)
        #expect(try first.withUnsafeBytes { try spool.append(body: $0, rows: 3) })
        #expect(try second.withUnsafeBytes { try spool.append(body: $0, rows: 4) })
        #expect(try !first.withUnsafeBytes { try spool.append(body: $0, rows: 3) }, "a third would pass the cap")
        #expect(spool.pendingRows == 7 && spool.pendingBytes == first.count + second.count + 2 * 32)

        let reopened = try Spool(directory: path, capacityBytes: capacity)
        let pending = reopened.pending
        #expect(pending.map(\.rows) == [3, 4])
        #expect(reopened.filesQuarantinedAtOpen == 0)
        #expect(try reopened.body(of: pending[0]) == first)
        #expect(try reopened.body(of: pending[1]) == second)
        reopened.remove(pending[0])
        #expect(reopened.pending.map(\.rows) == [4])
        #expect(try Spool(directory: path, capacityBytes: capacity).pendingRows == 4)
    }

    @Test("replace keeps the file's place in line with only the rows left")
    func replace() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spool = try Spool(directory: path, capacityBytes: 1 << 20)
        let original = body(rows: 10, marker: 1)
        let rest = body(rows: 2, marker: 1)
        _ = try original.withUnsafeBytes { try spool.append(body: $0, rows: 10) }
        _ = try original.withUnsafeBytes { try spool.append(body: $0, rows: 10) }
        let entry = try #require(spool.pending.first)
        try rest.withUnsafeBytes { try spool.replace(entry, body: $0, rows: 2) }
        #expect(spool.pending.map(\.rows) == [2, 10])
        #expect(spool.pendingBytes == rest.count + original.count + 2 * 32)
        let reopened = try Spool(directory: path, capacityBytes: 1 << 20)
        #expect(reopened.pending.map(\.rows) == [2, 10])
        #expect(try reopened.body(of: reopened.pending[0]) == rest)
    }

    @Test("a damaged file fails its checksum and can be set aside")
    func corruption() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spool = try Spool(directory: path, capacityBytes: 1 << 20)
        let content = body(rows: 1, marker: 7)
        _ = try content.withUnsafeBytes { try spool.append(body: $0, rows: 1) }
        let entry = try #require(spool.pending.first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entry.path))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: entry.path))
        #expect(throws: Spool.SpoolError.self) { try spool.body(of: entry) }
        spool.quarantine(entry)
        #expect(spool.pending.isEmpty)
        #expect(FileManager.default.fileExists(atPath: entry.path + ".corrupt"))
    }

    /// A spool header: magic, rows, body length, checksum, reserved.
    func header(rows: UInt64, length: UInt64) -> [UInt8] {
        var bytes = Array("HBSPOOL1".utf8)
        withUnsafeBytes(of: rows.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: length.bigEndian) { bytes += $0 }
        return bytes + [UInt8](repeating: 0, count: 8)
    }

    @Test("crafted files are quarantined at open, never trusted: huge lengths, lying row counts, overflowing names, links")
    func craftedFiles() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let good = body(rows: 2, marker: 3)
        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
        }
        // Lengths far beyond the file (2^64 - 1 and 2^63), a row count the body cannot hold, a
        // header alone, and a name whose number is the largest u64.
        try write("00000000000000000001.spool", header(rows: 1, length: .max) + good)
        try write("00000000000000000002.spool", header(rows: .max, length: UInt64(good.count)) + good)
        try write("00000000000000000003.spool", header(rows: 1 << 62, length: 1 << 63))
        try write("00000000000000000004.spool", header(rows: 5, length: UInt64(good.count)) + good)
        try write("18446744073709551615.spool", header(rows: 2, length: UInt64(good.count)) + good)
        try write("not-a-number.spool", header(rows: 2, length: UInt64(good.count)) + good)
        symlink("/etc/passwd", path + "/00000000000000000005.spool")
        let spool = try Spool(directory: path, capacityBytes: 1 << 20)
        #expect(spool.pending.isEmpty)
        #expect(spool.filesQuarantinedAtOpen == 7)
        // New files still get numbers that fit, and are read back.
        #expect(try good.withUnsafeBytes { try spool.append(body: $0, rows: 2) })
        #expect(try spool.body(of: try #require(spool.pending.first)) == good)
    }

    @Test("the directory is private (0700) and may not be a symbolic link")
    func directoryPermissions() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + "-link") }
        _ = try Spool(directory: path, capacityBytes: 1 << 20)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o700)
        chmod(path, 0o755)
        _ = try Spool(directory: path, capacityBytes: 1 << 20)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o700)
        symlink(path, path + "-link")
        #expect(throws: Spool.SpoolError.self) { try Spool(directory: path + "-link", capacityBytes: 1 << 20) }
    }
}
