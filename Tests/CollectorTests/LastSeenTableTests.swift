@testable import Collector
import Testing

@Suite("Last-seen table")
struct LastSeenTableTests {
    func row(_ id: Int32, instance: UInt32, sequence: UInt64, at micros: Int64) -> HeartbeatRow {
        HeartbeatRow(applicationID: id, kind: .beat, instance: instance, sequence: sequence, receivedAtMicros: micros, sentAtMicros: 0, status: 0)
    }

    @Test("keeps each application's latest record, and keeps it across growth")
    func latestAndGrowth() {
        let table = LastSeenTable(capacity: 16)
        table.record(row(3, instance: 7, sequence: 1, at: 100))
        table.record(row(3, instance: 7, sequence: 2, at: 200))
        #expect(table.entry(for: 3) == .init(receivedMicros: 200, instance: 7, sequence: 2))
        #expect(table.entry(for: 4) == .init(receivedMicros: 0, instance: 0, sequence: 0))
        table.record(row(1_000, instance: 9, sequence: 5, at: 300))
        #expect(table.capacity > 1_000)
        #expect(table.entry(for: 3) == .init(receivedMicros: 200, instance: 7, sequence: 2), "copied into the grown arrays")
        #expect(table.entry(for: 1_000) == .init(receivedMicros: 300, instance: 9, sequence: 5))
        #expect(table.entry(for: -1).receivedMicros == 0)
        #expect(table.entry(for: 1 << 40).receivedMicros == 0)
    }

    @Test("changes(since:) lists exactly the ids whose time moved past what the caller knows, and grows its array")
    func changesSince() {
        let table = LastSeenTable(capacity: 16)
        for (id, micros) in [(1, 100), (3, 300), (40, 4_000)] {
            table.record(HeartbeatRow(applicationID: Int32(id), kind: .beat, instance: 1, sequence: 1, receivedAtMicros: Int64(micros), sentAtMicros: 0, status: 0))
        }
        var known = [Int64](repeating: 0, count: 4)
        known[3] = 300  // already handled
        let changed = table.changes(since: &known)
        #expect(changed.map(\.id) == [1, 40] && changed.map(\.micros) == [100, 4_000])
        #expect(known.count == table.capacity && known[40] == 0, "grown with zeros, not marked")
    }
}
