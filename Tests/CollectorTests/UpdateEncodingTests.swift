@testable import Collector
import Protocol
import Testing

/// The packed arrays of a hot-state stream entry (`Spec/hot-state.md`).
@Suite("Hot-state update encoding")
struct UpdateEncodingTests {
    @Test("seen times and events round-trip, little-endian, at the documented sizes")
    func roundTrip() {
        let seen: [(id: Int32, micros: Int64)] = [(1, 1_764_470_000_123_456), (Int32.max, 0), (42, -1)]
        let packedSeen = UpdateEncoding.pack(seen: seen[...])
        #expect(packedSeen.count == 36)
        #expect(Array(packedSeen[0..<4]) == [1, 0, 0, 0], "id first, little-endian")
        let unpacked = UpdateEncoding.unpackSeen(packedSeen)
        #expect(unpacked.map(\.id) == seen.map(\.id) && unpacked.map(\.micros) == seen.map(\.micros))

        let events = [
            HeartbeatRow(applicationID: 7, kind: .fail, instance: 0, sequence: 0, receivedAtMicros: 123, sentAtMicros: 0, status: 0, intervalMillis: 60_000),
            HeartbeatRow(applicationID: 9, kind: .stop, instance: 0, sequence: 0, receivedAtMicros: 456, sentAtMicros: 0, status: 0),
        ]
        let packedEvents = UpdateEncoding.pack(events: events)
        #expect(packedEvents.count == 34)
        #expect(UpdateEncoding.unpackEvents(packedEvents) == events)
    }

    @Test("a truncated array or an unknown kind is skipped, never a crash")
    func damaged() {
        var packed = UpdateEncoding.pack(seen: [(3, 33), (4, 44)][...])
        packed.removeLast()
        #expect(UpdateEncoding.unpackSeen(packed).map(\.id) == [3])
        var events = UpdateEncoding.pack(events: [HeartbeatRow(applicationID: 1, kind: .start, instance: 0, sequence: 0, receivedAtMicros: 1, sentAtMicros: 0, status: 0)])
        events[4] = 200  // no such kind
        #expect(UpdateEncoding.unpackEvents(events).isEmpty)
        #expect(UpdateEncoding.unpackSeen([]).isEmpty && UpdateEncoding.unpackEvents([1, 2, 3]).isEmpty)
    }
}

/// Which stream entries a collector reads: its own format version, and entries from before the
/// version field existed (they were version 1).
@Suite("Hot-state format version")
struct HotStateFormatTests {
    static let cases: [(fields: [String: String], verdict: HotStateFormat.Verdict)] = [
        ([:], .read),
        (["origin": "a"], .read),
        (["v": "1"], .read),
        (["v": "2"], .refuse(version: "2")),
        (["v": "0"], .refuse(version: "0")),
        (["v": ""], .refuse(version: "")),
        (["v": "one"], .refuse(version: "one")),
    ]

    @Test("an entry is read only in this build's version; a missing version is version 1", arguments: cases)
    func verdicts(_ fields: [String: String], _ verdict: HotStateFormat.Verdict) {
        #expect(HotStateFormat.verdict(on: fields.mapValues { Array($0.utf8) }) == verdict)
    }
}
