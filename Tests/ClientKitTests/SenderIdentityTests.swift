import ClientKit
import Protocol
import Testing

@Suite("Sender identity")
struct SenderIdentityTests {
    @Test("sequence numbers start at 1 and grow by one")
    func sequence() {
        let identity = SenderIdentity(application: .random(), instance: 7)
        #expect((0..<5).map { _ in identity.nextSequence() } == [1, 2, 3, 4, 5])
        let record = identity.makeRecord(kind: .fail, sentAtMicros: 12, status: 3)
        #expect(record.sequence == 6 && record.instance == 7 && record.kind == .fail && record.status == 3)
    }

    @Test("instance ids are random and never zero")
    func instances() {
        let application = ApplicationUUID.random()
        let instances = (0..<1000).map { _ in SenderIdentity(application: application).instance }
        #expect(!instances.contains(0))
        #expect(Set(instances).count > 990)
    }

    @Test("concurrent senders never get the same sequence number")
    func concurrentSequences() async {
        let identity = SenderIdentity(application: .random())
        let issued = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<8 { group.addTask { (0..<10_000).map { _ in identity.nextSequence() } } }
            return await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        #expect(Set(issued) == Set(1...80_000))
    }
}
