import Collector
import Dispatch
import Testing

@Suite("Single-producer/single-consumer row ring")
struct RowRingTests {
    func row(_ sequence: UInt64) -> HeartbeatRow {
        HeartbeatRow(applicationID: 1, kind: .beat, instance: 1, sequence: sequence, receivedAtMicros: 0, sentAtMicros: 0, status: 0)
    }

    @Test("fills to capacity, refuses the next, and hands rows back in order across the wrap")
    func fullAndWrap() {
        let ring = RowRing(capacity: 5)
        #expect(ring.capacity == 8)
        let output = UnsafeMutablePointer<HeartbeatRow>.allocate(capacity: 16)
        defer { output.deallocate() }
        for sequence in 1...8 { #expect(ring.push(row(UInt64(sequence)))) }
        #expect(!ring.push(row(9)), "a full ring refuses, it does not overwrite")
        #expect(ring.occupancy == 8)
        #expect(ring.pop(into: output, maximum: 5) == 5)
        #expect((0..<5).map { output[$0].sequence } == [1, 2, 3, 4, 5])
        for sequence in 9...13 { #expect(ring.push(row(UInt64(sequence)))) }
        #expect(ring.pop(into: output, maximum: 16) == 8)
        #expect((0..<8).map { output[$0].sequence } == Array(6...13))
        #expect(ring.pop(into: output, maximum: 16) == 0)
        #expect(ring.occupancy == 0)
    }

    @Test("peek reads rows in place up to the storage's end; only release hands their slots back")
    func peekAndRelease() {
        let ring = RowRing(capacity: 8)
        for sequence in 1...6 { #expect(ring.push(row(UInt64(sequence)))) }
        let first = ring.peek(maximum: 4)
        #expect(first.map(\.sequence) == [1, 2, 3, 4])
        #expect(ring.peek(maximum: 4).map(\.sequence) == [1, 2, 3, 4], "peeking again without release sees the same rows")
        ring.release(4)
        for sequence in 7...10 { #expect(ring.push(row(UInt64(sequence)))) }
        #expect(ring.push(row(11)))
        #expect(ring.occupancy == 7)
        // Rows 5-8 sit at the end of the storage, 9-11 at its start: one run each.
        #expect(ring.peek(maximum: 16).map(\.sequence) == [5, 6, 7, 8])
        ring.release(4)
        #expect(ring.peek(maximum: 16).map(\.sequence) == [9, 10, 11])
        ring.release(3)
        #expect(ring.peek(maximum: 16).isEmpty)
        #expect(ring.occupancy == 0)
    }

    @Test("rows peeked but not released keep their slots: a full ring still refuses")
    func peekedSlotsStayTaken() {
        let ring = RowRing(capacity: 4)
        for sequence in 1...4 { #expect(ring.push(row(UInt64(sequence)))) }
        #expect(ring.peek(maximum: 4).count == 4)
        #expect(!ring.push(row(5)))
        ring.release(1)
        #expect(ring.push(row(5)))
        #expect(!ring.push(row(6)))
    }

    /// Pushes rows 1...2,000,000 into a 1,024-row ring from one thread while `consume` reads them
    /// on another (it returns how many it took, passing each sequence number to `check`); expects
    /// every row once, in order, and the ring empty after.
    func transfer(consume: @escaping @Sendable (RowRing, (UInt64) -> Void) -> Int) async {
        let ring = RowRing(capacity: 1024)
        let total: UInt64 = 2_000_000
        let received = await withCheckedContinuation { (continuation: CheckedContinuation<(UInt64, Bool), Never>) in
            DispatchQueue.global().async {
                var next: UInt64 = 1
                while next <= total {
                    if ring.push(row(next)) { next += 1 }
                }
            }
            DispatchQueue.global().async {
                var expected: UInt64 = 1
                var inOrder = true
                while expected <= total {
                    _ = consume(ring) { sequence in
                        if sequence != expected { inOrder = false }
                        expected += 1
                    }
                }
                continuation.resume(returning: (expected - 1, inOrder))
            }
        }
        #expect(received.0 == total)
        #expect(received.1)
        #expect(ring.occupancy == 0)
    }

    @Test("one producer and one consumer on two threads lose, duplicate and reorder nothing")
    func concurrentTransfer() async {
        await transfer { ring, check in
            let output = UnsafeMutablePointer<HeartbeatRow>.allocate(capacity: 300)
            defer { output.deallocate() }
            let count = ring.pop(into: output, maximum: 300)
            for index in 0..<count { check(output[index].sequence) }
            return count
        }
    }

    @Test("the same transfer read in place (peek and release, as the drain does)")
    func concurrentTransferInPlace() async {
        await transfer { ring, check in
            let run = ring.peek(maximum: 300)
            for element in run { check(element.sequence) }
            ring.release(run.count)
            return run.count
        }
    }
}
