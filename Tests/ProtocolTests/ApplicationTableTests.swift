import Protocol
import Testing

@Suite("Application table")
struct ApplicationTableTests {
    @Test("finds every registered application and nothing else", arguments: [0, 1, 7, 1000, 100_000])
    func lookups(count: Int) {
        var generator = SplitMix64(seed: propertySeed())
        let uuids = (0..<count).map { _ in ApplicationUUID.random(using: &generator) }
        let table = ApplicationTable(uuids.enumerated().map { ApplicationDescriptor(uuid: $1, databaseID: Int64($0 + 1)) })
        #expect(table.count == count)
        for (index, uuid) in uuids.enumerated() {
            let found = table.entryIndex(of: uuid)
            #expect(found == index)
            if found != index { break }
        }
        for _ in 0..<1000 {
            #expect(table.entryIndex(of: ApplicationUUID.random(using: &generator)) == nil)
        }
    }

    @Test("keeps keys only for signed applications")
    func keys() {
        let unsigned = ApplicationDescriptor(uuid: .random(), databaseID: 1)
        let signed = ApplicationDescriptor(uuid: .random(), databaseID: 2, secret: .random())
        let rotating = ApplicationDescriptor(uuid: .random(), databaseID: 3, secret: .random(), previousSecret: .random())
        let table = ApplicationTable([unsigned, signed, rotating])
        #expect(table.keys.count == 3)
        #expect(!table.entries[0].isSigned)
        #expect(table.entries[1].isSigned && table.entries[1].previousKeyIndex == -1)
        #expect(table.entries[2].keyIndex == 1 && table.entries[2].previousKeyIndex == 2)
    }
}
