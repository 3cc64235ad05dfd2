import Atomics
@testable import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The monitor publishes its board after every tick; readers on other threads take it whole.
@Suite("Published liveness views", .serialized)
struct LivenessViewTests {
    @Test("readers on other threads see each tick's view whole, and holding one never holds the monitor back")
    func readersNeverBlockTheMonitor() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let uuid = ApplicationUUID.random()
        let id = Int32(try connection.query(
            "INSERT INTO application (uuid, name, interval_ms, grace_ms) VALUES ('\(uuid)', 'viewed', 60000, 1000) RETURNING id")[0][0]!)!
        let registry = RegistryHolder(RegistrySnapshot(
            version: 2, applications: [ApplicationDescriptor(uuid: uuid, applicationID: Int64(id))], allowedSkewMicros: 120_000_000))
        let feed = RowRing(capacity: 1_024)
        let lastSeen = LastSeenTable(capacity: 8)
        let views = LivenessViewHolder(LivenessView(source: .monitor, role: nil, takenAtMicros: 0, sequence: 0))
        let monitor = LivenessMonitor(
            databaseURL: database.url, registry: registry, lastSeen: lastSeen, feed: feed, periodMillis: 100, metrics: MonitorMetrics(), views: views)
        monitor.start()
        defer { monitor.stop() }

        // Readers hammer the holder from two threads while the monitor ticks, checking every view
        // they take is whole: sequences never go back, and the application's entry agrees with itself.
        let stop = ManagedAtomic(false)
        let reads = ManagedAtomic<Int>(0)
        let inconsistencies = ManagedAtomic<Int>(0)
        let readers = (0..<2).map { _ in
            Thread {
                var lastSequence: UInt64 = 0
                while !stop.load(ordering: .relaxed) {
                    let view = views.view
                    if view.sequence < lastSequence { inconsistencies.wrappingIncrement(ordering: .relaxed) }
                    lastSequence = view.sequence
                    if let entry = view[Int(id)], entry.status == .up, entry.nextDeadlineMicros == nil {
                        inconsistencies.wrappingIncrement(ordering: .relaxed)  // an up application always has a deadline
                    }
                    reads.wrappingIncrement(ordering: .relaxed)
                }
            }
        }
        readers.forEach { $0.start() }
        defer { stop.store(true, ordering: .relaxed) }

        let arrival = WallClock.nowMicros()
        lastSeen.record(HeartbeatRow(applicationID: id, kind: .beat, instance: 1, sequence: 1, receivedAtMicros: arrival, sentAtMicros: 0, status: 0))
        _ = feed.push(HeartbeatRow(applicationID: id, kind: .beat, instance: 1, sequence: 1, receivedAtMicros: arrival, sentAtMicros: 0, status: 0))
        let deadline = Date().addingTimeInterval(5)
        while views.view[Int(id)]?.status != .up, Date() < deadline { usleep(10_000) }
        let held = views.view
        let entry = try #require(held[Int(id)])
        #expect(entry.status == .up)
        #expect(entry.sinceMicros == arrival, "up since the beat")
        #expect(entry.lastArrivalMicros == arrival)
        #expect(entry.nextDeadlineMicros == arrival + 60_000_000, "late one interval after the beat")
        #expect(held.role == .alone && held.source == .monitor)

        // Holding a view for a while neither blocks the monitor nor changes what is held.
        let heldSequence = held.sequence
        usleep(500_000)
        #expect(views.view.sequence > heldSequence + 5, "the monitor kept publishing (\(views.view.sequence) after \(heldSequence))")
        #expect(held.sequence == heldSequence && held[Int(id)] == entry)
        stop.store(true, ordering: .relaxed)
        usleep(50_000)
        #expect(reads.load(ordering: .relaxed) > 100)
        #expect(inconsistencies.load(ordering: .relaxed) == 0)
    }
}
