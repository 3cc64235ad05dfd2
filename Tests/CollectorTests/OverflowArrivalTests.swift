import Atomics
@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Arrivals that reach liveness when the rings are full")
struct OverflowArrivalTests {
    typealias Entry = LastSeenTable.Entry
    static let seen = Entry(receivedMicros: 1_000, instance: 7, sequence: 50)
    static let never = Entry(receivedMicros: 0, instance: 0, sequence: 0)

    @Test("which unqueued records may count for liveness", arguments: [
        // (kind, signed, instance, seq, last seen, counts)
        (RecordKind.beat, false, 1, 1, never, true),  // unsigned: anyone may, it is impersonable anyway
        (.start, false, 9, 3, seen, true),
        (.success, false, 9, 3, seen, true),
        (.fail, false, 7, 51, seen, false),  // changes state: the monitor must see its kind
        (.stop, false, 7, 51, seen, false),
        (.beat, true, 7, 51, seen, true),  // signed, continues the instance
        (.beat, true, 7, 50, seen, false),  // signed, not above the last seq: could be a replay
        (.beat, true, 8, 51, seen, false),  // signed, another instance: cannot be vouched for
        (.beat, true, 7, 51, never, false),  // signed, nothing seen yet
    ] as [(RecordKind, Bool, UInt32, UInt64, Entry, Bool)])
    func decision(kind: RecordKind, signed: Bool, instance: UInt32, sequence: UInt64, lastSeen: Entry, expected: Bool) {
        #expect(OverflowArrival.counts(kind: kind, signed: signed, instance: instance, sequence: sequence, lastSeen: lastSeen) == expected)
    }

    @Test("an overflow arrival is the later of the times readers see, and never goes back")
    func lastSeenTakesTheLater() {
        let table = LastSeenTable(capacity: 8)
        table.record(HeartbeatRow(applicationID: 3, kind: .beat, instance: 7, sequence: 5, receivedAtMicros: 1_000, sentAtMicros: 0, status: 0))
        #expect(table.recordOverflowArrival(applicationID: 3, receivedMicros: 2_000))
        #expect(table.recordOverflowArrival(applicationID: 3, receivedMicros: 1_500))  // older: kept at 2,000
        #expect(table.entry(for: 3) == Entry(receivedMicros: 2_000, instance: 7, sequence: 5))
        var known = [Int64](repeating: 0, count: 8)
        #expect(table.changes(since: &known).map(\.micros) == [2_000])
        table.record(HeartbeatRow(applicationID: 3, kind: .beat, instance: 7, sequence: 6, receivedAtMicros: 3_000, sentAtMicros: 0, status: 0))
        #expect(table.entry(for: 3).receivedMicros == 3_000)
        #expect(!table.recordOverflowArrival(applicationID: 1 << 20, receivedMicros: 1), "beyond the arrays: not seen")
    }

    @Test("a receiver whose ring is full still records unsigned beats in last-seen, and counts a lost fail as not seen")
    func receiverRecordsOverflowArrivals() throws {
        let application = ApplicationUUID.random()
        let registry = RegistryHolder(RegistrySnapshot(
            version: 1, applications: [ApplicationDescriptor(uuid: application, applicationID: 1)], allowedSkewMicros: 120_000_000))
        let lastSeen = LastSeenTable(capacity: 4)
        let receiver = try DatagramReceiver(
            address: ListenAddress(parsing: "127.0.0.1:0"), registry: registry, ringCapacity: 16, receiveBufferBytes: 1 << 20, lastSeen: lastSeen)
        receiver.start()
        let sender = UDPSender(port: receiver.boundPort)
        // 16 fill the ring nobody drains; 15 more beats and one fail are refused as overload.
        let before = WallClock.nowMicros()
        sender.send((1...16).flatMap { HeartbeatRecord(kind: .beat, application: application, instance: 1, sequence: UInt64($0), sentAtMicros: 0).encoded() })
        sender.send((17...32).flatMap { sequence in
            HeartbeatRecord(kind: sequence == 32 ? .fail : .beat, application: application, instance: 1, sequence: UInt64(sequence), sentAtMicros: 0).encoded()
        })
        let deadline = Date().addingTimeInterval(5)
        while receiver.counters.recordsReceived < 32, Date() < deadline { usleep(5_000) }
        receiver.stop()
        #expect(receiver.counters.recordsRejected(.overload) == 16)
        #expect(receiver.counters.recordsSeenOnOverflow == 15)
        #expect(receiver.counters.recordsNotSeen == 1)
        #expect(lastSeen.entry(for: 1).receivedMicros >= before, "the refused beats' arrival reached last-seen")
    }
}

@Suite("The monitor holds convictions while arrivals are lost for liveness", .serialized)
struct MonitorLossHoldTests {
    @Test("no conviction while not-seen moves; convictions resume one clean period after it stops")
    func lossHold() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let uuid = ApplicationUUID.random()
        let id = Int32(try connection.query("INSERT INTO application (uuid, name, interval_ms, grace_ms) VALUES ('\(uuid)', 'held', 400, 200) RETURNING id")[0][0]!)!
        let registry = RegistryHolder(RegistrySnapshot(
            version: 2, applications: [ApplicationDescriptor(uuid: uuid, applicationID: Int64(id))], allowedSkewMicros: 120_000_000))
        let feed = RowRing(capacity: 1_024)
        let notSeen = ManagedAtomic<UInt64>(0)
        let metrics = MonitorMetrics()
        let monitor = LivenessMonitor(
            databaseURL: database.url, registry: registry, lastSeen: LastSeenTable(capacity: 8), feed: feed, periodMillis: 100, metrics: metrics,
            notSeenTotal: { notSeen.load(ordering: .relaxed) })
        monitor.start()
        defer { monitor.stop() }
        _ = feed.push(HeartbeatRow(applicationID: id, kind: .beat, instance: 1, sequence: 1, receivedAtMicros: WallClock.nowMicros(), sentAtMicros: 0, status: 0))
        func status() throws -> String? { try connection.query("SELECT status FROM application WHERE id = \(id)")[0][0] }
        let upDeadline = Date().addingTimeInterval(5)
        while try status() != "up", Date() < upDeadline { usleep(20_000) }
        #expect(try status() == "up")
        // Arrivals are being lost for 1.5 s (the deadline, 0.4 s + 0.2 s, passes inside): nobody is convicted.
        let lossEnds = Date().addingTimeInterval(1.5)
        while Date() < lossEnds {
            notSeen.wrappingIncrement(ordering: .relaxed)
            usleep(50_000)
            #expect(try status() == "up")
        }
        #expect(metrics.lossHolds.load(ordering: .relaxed) > 5)
        // The loss stops and the application stays silent: it is convicted once a clean period passed.
        let downDeadline = Date().addingTimeInterval(5)
        while try status() != "down", Date() < downDeadline { usleep(20_000) }
        #expect(try status() == "down")
    }
}
