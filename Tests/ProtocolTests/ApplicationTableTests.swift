import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Application table")
struct ApplicationTableTests {
    @Test("finds every registered application and nothing else", arguments: [0, 1, 7, 1000, 100_000])
    func lookups(count: Int) {
        var generator = SplitMix64(seed: propertySeed())
        let uuids = (0..<count).map { _ in ApplicationUUID.random(using: &generator) }
        let table = ApplicationTable(
            uuids.enumerated().map { ApplicationDescriptor(uuid: $1, applicationID: Int64($0 + 1), isEnabled: $0 % 3 != 0) })
        #expect(table.count == count)
        #expect(table.slotCount * 3 >= count * 4)
        for (index, uuid) in uuids.enumerated() {
            let found = table.entry(for: uuid)
            #expect(found?.applicationID == Int64(index + 1) && found?.isEnabled == (index % 3 != 0))
            if found?.applicationID != Int64(index + 1) { break }
        }
        for _ in 0..<1000 {
            #expect(table.entry(for: ApplicationUUID.random(using: &generator)) == nil)
        }
    }

    @Test("keeps keys only for signed applications")
    func keys() {
        let unsigned = ApplicationDescriptor(uuid: .random(), applicationID: 1)
        let signed = ApplicationDescriptor(uuid: .random(), applicationID: 2, secret: .random())
        let rotating = ApplicationDescriptor(uuid: .random(), applicationID: 3, secret: .random(), previousSecret: .random())
        let table = ApplicationTable([unsigned, signed, rotating])
        #expect(table.keyCount == 3)
        #expect(table.entry(for: unsigned.uuid)?.isSigned == false)
        #expect(table.entry(for: signed.uuid) == .init(applicationID: 2, isEnabled: true, keyIndex: 0, hasPreviousKey: false))
        #expect(table.entry(for: rotating.uuid) == .init(applicationID: 3, isEnabled: true, keyIndex: 1, hasPreviousKey: true))
        // The keys are the secrets' own: the previous secret's key sits right after the current one.
        let prefix = [UInt8](repeating: 7, count: 48)
        prefix.withUnsafeBytes { bytes in
            #expect(table.key(at: 1).tag(signing: bytes.baseAddress!) == TagKey(secret: rotating.secret!).tag(signing: bytes.baseAddress!))
            #expect(table.key(at: 2).tag(signing: bytes.baseAddress!) == TagKey(secret: rotating.previousSecret!).tag(signing: bytes.baseAddress!))
        }
    }
}
