@testable import Collector
import Protocol
import Testing

@Suite("Rollups: the drain's minute table, loss from merged figures, raw-event policy")
struct RollupTableTests {
    /// 2026-12-01T12:00:00Z, a minute boundary.
    static let noon: Int64 = 1_796_126_400_000_000

    func row(
        app: Int32 = 1, instance: UInt32 = 7, sequence: UInt64, kind: RecordKind = .beat, at micros: Int64 = noon, sentAt: Int64? = nil,
        interval: UInt32 = 0
    ) -> HeartbeatRow {
        HeartbeatRow(
            applicationID: app, kind: kind, instance: instance, sequence: sequence, receivedAtMicros: micros, sentAtMicros: sentAt ?? micros - 500,
            status: 0, intervalMillis: interval)
    }

    func entries(_ table: RollupTable) -> [RollupEntry] {
        var entries = [RollupEntry]()
        table.forEach { entries.append($0) }
        return entries.sorted { ($0.applicationID, $0.instance, $0.minute) < ($1.applicationID, $1.instance, $1.minute) }
    }

    @Test("an entry is one 64-byte cache line")
    func layout() {
        #expect(MemoryLayout<RollupEntry>.size == 64)
        #expect(MemoryLayout<RollupEntry>.stride == 64)
    }

    @Test("counts by kind, sequence bounds, first/last arrival and delays of one (app, instance, minute)")
    func oneKey() throws {
        let table = RollupTable(expectedKeys: 4)
        let rows = [
            row(sequence: 5, at: Self.noon + 2_000_000, sentAt: Self.noon + 1_999_000),  // 1 ms delay
            row(sequence: 3, kind: .start, at: Self.noon + 40_500_000, sentAt: Self.noon + 40_497_000),  // reordered; 3 ms
            row(sequence: 9, kind: .fail, at: Self.noon + 59_999_000, sentAt: Self.noon + 60_001_000),  // clock ahead: −2 ms
            row(sequence: 0, kind: .success, at: Self.noon + 10_000_000),  // an HTTP ping: no sequence
        ]
        for row in rows { #expect(table.count(row)) }
        let entry = try #require(entries(table).first)
        #expect(table.count == 1 && table.records == 4)
        #expect((entry.beats, entry.starts, entry.successes, entry.fails, entry.stops) == (1, 1, 1, 1, 0))
        #expect(entry.records == 4 && entry.sequenced == 3)
        #expect(entry.sequenceMin == 3 && entry.sequenceMax == 9)
        #expect(entry.firstMillis == 2_000 && entry.lastMillis == 59_999)
        #expect(entry.delayMinMicros == -2_000 && entry.delayMaxMicros == 3_000)
        #expect(Int64(entry.minute) * 60_000_000 == Self.noon)
    }

    @Test("keys: another instance, another application, the next minute are entries of their own")
    func keys() {
        let table = RollupTable(expectedKeys: 4)
        _ = table.count(row(sequence: 1))
        _ = table.count(row(instance: 8, sequence: 1))
        _ = table.count(row(app: 2, sequence: 1))
        _ = table.count(row(sequence: 2, at: Self.noon + 60_000_000))
        _ = table.count(row(sequence: 3, at: Self.noon + 60_000_001))
        let all = entries(table)
        #expect(all.count == 4)
        #expect(all.map(\.records) == [1, 2, 1, 1])
        #expect(all.map(\.instance) == [7, 7, 8, 7])
    }

    @Test("grows past half full without losing a count; clearing empties it, keeps its size and moves it to huge pages")
    func growth() {
        let table = RollupTable(expectedKeys: 1)
        #expect(table.capacity == 1_024)
        for app in 1...10_000 {
            _ = table.count(row(app: Int32(app), sequence: 1))
            _ = table.count(row(app: Int32(app), sequence: 2))
        }
        #expect(table.count == 10_000 && table.records == 20_000)
        #expect(table.capacity >= 20_000)
        #expect(entries(table).allSatisfy { $0.records == 2 && $0.sequenceMin == 1 && $0.sequenceMax == 2 })
        let capacity = table.capacity
        #expect(!table.usesHugePages, "grown by the drain: plain pages")
        table.clearForReuse()
        #expect(table.count == 0 && table.records == 0 && entries(table).isEmpty && table.capacity == capacity)
        #expect(table.usesHugePages, "moved to huge pages by the writer")
        _ = table.count(row(sequence: 9))
        #expect(table.count == 1 && entries(table).first?.sequenceMax == 9)
    }

    @Test("at its largest and half full, a new key is refused; known keys still count")
    func cap() {
        let table = RollupTable(expectedKeys: 1, maximumCapacity: 1_024)
        var refused = 0
        for app in 1...600 where !table.count(row(app: Int32(app), sequence: 1)) { refused += 1 }
        #expect(table.count == 512 && refused == 88)
        #expect(table.count(row(app: 1, sequence: 2)), "a key already held")
        #expect(table.records == 513)
    }

    @Test(
        "loss of one instance",
        arguments: [
            // (received, window min, window max, highest before) → (expected, lost)
            (60, 101, 160, 100, 60, 0),  // every number arrived
            (55, 101, 160, 100, 60, 5),  // 5 lost inside the window
            (50, 111, 160, 100, 60, 10),  // the window's first 10 lost
            (50, 1, 50, nil, 50, 0),  // a new instance counts from its first number
            (45, 1, 50, nil, 50, 5),
            (50, 1, 50, 1_000, 50, 0),  // numbering restarted under the same instance
            (1, 99, 99, 100, 1, 0),  // only a straggler (counted lost in the window before)
            (3, 99, 102, 100, 3, 0),  // a straggler and two new: never negative
            (0, nil, nil, 100, 0, 0),  // nothing in the window
        ] as [(Int64, Int64?, Int64?, Int64?, Int64, Int64)])
    func loss(_ figures: (Int64, Int64?, Int64?, Int64?, Int64, Int64)) {
        let loss = RollupLoss.instance(received: figures.0, windowMin: figures.1, windowMax: figures.2, highestBefore: figures.3)
        #expect(loss.expected == figures.4 && loss.lost == figures.5 && loss.received == figures.0)
    }

    @Test("raw events: all keeps every row, none no row, runs the non-beats and the first beat after a gap")
    func rawEvents() {
        let previous = Self.noon - 5_000_000
        #expect(RawEvents.all.keeps(row(sequence: 2), previousMicros: previous))
        #expect(!RawEvents.none.keeps(row(sequence: 2, kind: .fail), previousMicros: previous))
        for kind in [RecordKind.start, .success, .fail, .stop] {
            #expect(RawEvents.runs.keeps(row(sequence: 2, kind: kind), previousMicros: previous))
        }
        #expect(RawEvents.runs.keeps(row(sequence: 1), previousMicros: 0), "the first beat this collector sees")
        #expect(!RawEvents.runs.keeps(row(sequence: 2), previousMicros: previous), "5 s after the last, no interval promised: routine")
        #expect(RawEvents.runs.keeps(row(sequence: 2), previousMicros: Self.noon - 61_000_000), "over 60 s of silence")
        #expect(!RawEvents.runs.keeps(row(sequence: 2, interval: 3_000), previousMicros: previous), "within twice the promised 3 s")
        #expect(RawEvents.runs.keeps(row(sequence: 2, interval: 2_000), previousMicros: previous), "past twice the promised 2 s")
    }

    @Test("the COPY body: header, 15 fields a row, NULL sequences for a row of pings only, trailer")
    func copyBody() {
        let table = RollupTable(expectedKeys: 2)
        _ = table.count(row(sequence: 4))
        _ = table.count(row(instance: 0, sequence: 0))
        var body = RollupCopyBody(reservingRows: 2)
        table.forEach { body.append($0) }
        let bytes = body.finished()
        #expect(body.rows == 2)
        #expect(Array(bytes.prefix(11)) == Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
        #expect(Array(bytes.suffix(2)) == [0xFF, 0xFF])
        // Per row: 2 (field count) + 12 int4 fields × 8 … less the NULLs' values: 2 + 4+4 + 4+8 + 4+8 + 6×8 + 2×(4+8) + 2×(4+8) + 2×8.
        let full = 2 + 8 + 12 + 12 + 48 + 24 + 24 + 16
        #expect(bytes.count == BinaryCopyEncoder.header.count + full + (full - 16) + 2)
    }
}
