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

    @Test("one producer and one consumer on two threads lose, duplicate and reorder nothing")
    func concurrentTransfer() async {
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
                let output = UnsafeMutablePointer<HeartbeatRow>.allocate(capacity: 300)
                defer { output.deallocate() }
                var expected: UInt64 = 1
                var inOrder = true
                while expected <= total {
                    let count = ring.pop(into: output, maximum: 300)
                    for index in 0..<count {
                        if output[index].sequence != expected { inOrder = false }
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
}
