import Collector
import Foundation
import Testing

@Suite("Spool")
struct SpoolTests {
    func directory() -> String { NSTemporaryDirectory() + "heartbeat-spool-test-\(UUID().uuidString)" }

    @Test("batches round-trip in order, survive a reopen, and the cap refuses without storing")
    func roundTripAndCap() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spool = try Spool(directory: path, capacityBytes: 200)
        let first: [UInt8] = Array(repeating: 1, count: 60)
        let second: [UInt8] = Array(repeating: 2, count: 60)
        #expect(try first.withUnsafeBytes { try spool.append(body: $0, rows: 3) })
        #expect(try second.withUnsafeBytes { try spool.append(body: $0, rows: 4) })
        #expect(try !first.withUnsafeBytes { try spool.append(body: $0, rows: 5) }, "a third would pass the 200-byte cap")
        #expect(spool.pendingRows == 7 && spool.pendingBytes == 2 * (60 + 32))

        let reopened = try Spool(directory: path, capacityBytes: 200)
        let pending = reopened.pending
        #expect(pending.map(\.rows) == [3, 4])
        #expect(try reopened.body(of: pending[0]) == first)
        #expect(try reopened.body(of: pending[1]) == second)
        reopened.remove(pending[0])
        #expect(reopened.pending.map(\.rows) == [4])
        #expect(try Spool(directory: path, capacityBytes: 200).pendingRows == 4)
    }

    @Test("a damaged file fails its checksum and can be set aside")
    func corruption() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spool = try Spool(directory: path, capacityBytes: 1 << 20)
        let body: [UInt8] = Array(0..<100)
        _ = try body.withUnsafeBytes { try spool.append(body: $0, rows: 1) }
        let entry = try #require(spool.pending.first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entry.path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: entry.path))
        #expect(throws: Spool.SpoolError.self) { try spool.body(of: entry) }
        spool.quarantine(entry)
        #expect(spool.pending.isEmpty)
        #expect(FileManager.default.fileExists(atPath: entry.path + ".corrupt"))
    }
}
