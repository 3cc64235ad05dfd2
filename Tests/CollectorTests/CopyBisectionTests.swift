@testable import Collector
import Protocol
import Testing

@Suite("What a failed COPY means, and how a refused batch is split")
struct CopyBisectionTests {
    @Test("SQLSTATE decides: data, a missing partition, or unavailability", arguments: [
        ("22008", nil, CopyFailure.badData),  // timestamp out of range
        ("22P02", nil, .badData),  // invalid text representation
        ("23514", "heartbeat_event_status_check", .badData),  // a row's own check
        ("23502", nil, .badData),  // not null
        ("23514", nil, .missingPartition),  // no partition of relation … found for row
        (nil, nil, .unavailable),  // client side: no connection
        ("08006", nil, .unavailable),  // connection failure
        ("40001", nil, .unavailable),  // serialization failure
        ("53100", nil, .unavailable),  // disk full
        ("57014", nil, .unavailable),  // query cancelled
        ("57P01", nil, .unavailable),  // admin shutdown
        ("58030", nil, .unavailable),  // I/O error
        ("42P01", nil, .unavailable),  // undefined table: an operator's doing, not the rows'
        ("XX000", nil, .unavailable),  // internal error
        ("2", nil, .unavailable),  // not a SQLSTATE at all
    ] as [(String?, String?, CopyFailure)])
    func classification(sqlState: String?, constraint: String?, expected: CopyFailure) {
        #expect(CopyFailure(sqlState: sqlState, constraint: constraint) == expected)
    }

    /// Drives a plan against a fake database that refuses any range holding a bad row, and
    /// reports every COPY it was asked for.
    func run(rows: Int, bad: Set<Int>, firstFailure: CopyFailure = .badData, missingDays: Bool = false,
             unavailableAfterCopies: Int = .max) -> (plan: CopyBisection, copies: [Range<Int>]) {
        var plan = CopyBisection(rows: rows, failure: firstFailure)
        var copies = [Range<Int>]()
        var partitionsExist = !missingDays
        while let action = plan.next() {
            switch action {
            case .createPartitions:
                partitionsExist = true
                plan.record(.partitionsCreated)
            case .copy(let range):
                copies.append(range)
                if copies.count > unavailableAfterCopies {
                    plan.record(.failed(.unavailable))
                } else if !partitionsExist {
                    plan.record(.failed(.missingPartition))
                } else if bad.contains(where: range.contains) {
                    plan.record(.failed(.badData))
                } else {
                    plan.record(.stored)
                }
            }
            #expect(copies.count <= 4 * rows + 4, "the plan must end")
        }
        return (plan, copies)
    }

    @Test("every good row is stored once and every bad row isolated, in order", arguments: [
        (1, [0]), (2, [1]), (7, [0, 6]), (50_000, [31_337]), (1_000, [0, 1, 2, 500, 999]), (64, Array(0..<64)),
    ] as [(Int, [Int])])
    func isolatesBadRows(rows: Int, bad: [Int]) {
        let (plan, copies) = run(rows: rows, bad: Set(bad))
        #expect(plan.badRows == bad)
        #expect(plan.storedRows == rows - bad.count)
        #expect(!plan.interrupted && plan.remaining.isEmpty)
        // No row is stored twice: the committed ranges are disjoint.
        var storedIndexes = Set<Int>()
        for range in copies where !bad.contains(where: range.contains) {
            for index in range { #expect(storedIndexes.insert(index).inserted, "row \(index) stored twice") }
        }
        #expect(storedIndexes.count == rows - bad.count)
    }

    @Test("one bad row in 50,000 costs a few dozen COPYs carrying about twice the batch")
    func costOfOneBadRow() {
        let (_, copies) = run(rows: 50_000, bad: [12_345])
        #expect(copies.count <= 2 * 17)
        #expect(copies.reduce(0) { $0 + $1.count } <= 2 * 50_000 + 34)
    }

    @Test("a missing partition is created once and the batch retried whole")
    func missingPartition() {
        let (plan, copies) = run(rows: 100, bad: [], firstFailure: .missingPartition, missingDays: true)
        #expect(copies == [0..<100])
        #expect(plan.storedRows == 100 && plan.badRows.isEmpty)
    }

    @Test("a partition that still cannot take the rows after creation isolates them like bad data")
    func partitionThatCannotBeMade() {
        var plan = CopyBisection(rows: 2, failure: .missingPartition)
        #expect(plan.next() == .createPartitions(0..<2))
        plan.record(.failed(.badData))  // e.g. a date PostgreSQL cannot take as a bound
        #expect(plan.next() == .copy(0..<1))
        plan.record(.failed(.missingPartition))
        #expect(plan.next() == .copy(1..<2))
        plan.record(.stored)
        #expect(plan.next() == nil)
        #expect(plan.badRows == [0] && plan.storedRows == 1)
    }

    @Test("an unavailable database stops the plan; the rows neither stored nor isolated remain, in order")
    func unavailableStops() {
        let (plan, copies) = run(rows: 8, bad: [5], unavailableAfterCopies: 3)
        // 0..<4 ok, 4..<8 refused, 4..<6 refused, then the database goes away at 4..<5.
        #expect(copies == [0..<4, 4..<8, 4..<6, 4..<5])
        #expect(plan.interrupted)
        #expect(plan.storedRows == 4)
        #expect(plan.remaining == [4..<5, 5..<6, 6..<8])
    }

    @Test("a COPY body is split by rows and read back exactly")
    func copyBody() throws {
        var encoder = BinaryCopyEncoder(reservingRows: 4)
        var rows = [HeartbeatRow]()
        for index in 0..<5 {
            let kind: RecordKind = RecordKind(rawValue: UInt8(index)) ?? .beat
            let instance: UInt32 = UInt32.max - UInt32(index)
            let sequence: UInt64 = UInt64.max - UInt64(index)
            let received: Int64 = 1_767_225_600_000_000 + Int64(index)
            let status: Int32 = Int32.min + Int32(index)
            rows.append(HeartbeatRow(
                applicationID: Int32(index + 1), kind: kind, instance: instance, sequence: sequence, receivedAtMicros: received,
                sentAtMicros: -300_000_000_000_000_000, status: status))
        }
        rows.forEach { encoder.append($0) }
        var expectedPart = BinaryCopyEncoder(reservingRows: 2)
        expectedPart.append(rows[1])
        expectedPart.append(rows[3])
        expectedPart.append(rows[4])
        let expected = expectedPart.finish { Array($0) }
        try encoder.finish { bytes in
            let body = try #require(CopyBody(bytes))
            #expect(body.rowCount == 5)
            #expect((0..<5).map(body.row) == rows)
            var part = [UInt8]()
            body.body(of: [1..<2, 3..<5], into: &part)
            #expect(part == expected)
            #expect(body.receivedDays(in: 0..<5, limit: 31) == [20_454])
        }
        #expect(CopyBody(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
        let truncated = encoder.finish { Array($0.dropLast(3)) }
        truncated.withUnsafeBytes { #expect(CopyBody($0) == nil) }
    }
}
