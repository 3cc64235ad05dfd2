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
        let packedV1 = UpdateEncoding.pack(events: events, version: 1)
        #expect(packedV1.count == 34)
        #expect(UpdateEncoding.unpackEvents(packedV1, version: 1) == events)

        // Version 2: the instance follows, and version 1's reading takes instance 0.
        let withInstances = events.map { row in
            var row = row
            row.instance = 0xDEAD_BEEF
            return row
        }
        let packedV2 = UpdateEncoding.pack(events: withInstances, version: 2)
        #expect(packedV2.count == 42)
        #expect(Array(packedV2[17..<21]) == [0xEF, 0xBE, 0xAD, 0xDE], "instance last, little-endian")
        #expect(UpdateEncoding.unpackEvents(packedV2, version: 2) == withInstances)
        #expect(UpdateEncoding.unpackEvents(UpdateEncoding.pack(events: withInstances, version: 1), version: 1) == events)

        let sightings = [
            HeartbeatRow(applicationID: 3, kind: .beat, instance: 77, sequence: 0, receivedAtMicros: 1_764_470_000_000_001, sentAtMicros: 0, status: 0)
        ]
        let packedInstances = UpdateEncoding.pack(instances: sightings)
        #expect(packedInstances.count == 16)
        #expect(UpdateEncoding.unpackInstances(packedInstances) == sightings)
        #expect(UpdateEncoding.unpackInstances(Array(packedInstances.dropLast())).isEmpty)
    }

    @Test("a round shares the latest sighting of each instance once")
    func latestPerInstance() {
        func row(_ id: Int32, _ instance: UInt32, _ at: Int64) -> HeartbeatRow {
            HeartbeatRow(applicationID: id, kind: .beat, instance: instance, sequence: 0, receivedAtMicros: at, sentAtMicros: 0, status: 0)
        }
        let latest = HotStateSync.latestPerInstance([row(1, 5, 10), row(1, 5, 30), row(1, 5, 20), row(1, 6, 15), row(2, 5, 5)])
        #expect(Set(latest.map { "\($0.applicationID)/\($0.instance)@\($0.receivedAtMicros)" }) == ["1/5@30", "1/6@15", "2/5@5"])
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

/// Which stream entries a collector reads: versions 1 and 2, and entries from before the version
/// field existed (they were version 1).
@Suite("Hot-state format version")
struct HotStateFormatTests {
    static let cases: [(fields: [String: String], verdict: HotStateFormat.Verdict)] = [
        ([:], .read(version: 1)),
        (["origin": "a"], .read(version: 1)),
        (["v": "1"], .read(version: 1)),
        (["v": "2"], .read(version: 2)),
        (["v": "3"], .refuse(version: "3")),
        (["v": "0"], .refuse(version: "0")),
        (["v": ""], .refuse(version: "")),
        (["v": "one"], .refuse(version: "one")),
    ]

    @Test("an entry is read in the versions this build knows; a missing version is version 1", arguments: cases)
    func verdicts(_ fields: [String: String], _ verdict: HotStateFormat.Verdict) {
        #expect(HotStateFormat.verdict(on: fields.mapValues { Array($0.utf8) }) == verdict)
    }
}
