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
}
