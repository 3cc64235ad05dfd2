import Atomics
import Foundation
import Protocol

/// Shares last-seen state between collectors through Redis, so that every monitor decides from the
/// global view: an application whose records land on several collectors is never falsely `late`.
///
/// Every ``periodMillis`` one thread, on its own connection:
/// Keys start with the configured prefix (`heartbeat` by default, so several deployments can share
/// one Redis):
/// 1. **share** — this collector's `start`/`success`/`fail`/`stop` records (which a last-seen time
///    cannot carry) appended to the stream `heartbeat:events`;
/// 2. **push** — the last-seen time of every application that changed since the last round, merged
///    into the sorted set `heartbeat:last_seen` (member: `application.id`, score: Unix µs) with
///    pipelined variadic `ZADD … GT`, so a later arrival always wins whoever sends it;
/// 3. **pull** — members whose score moved recently (`ZRANGEBYSCORE` from the previous round's start
///    minus ``lookbackMicros``), then new stream entries from other collectors; whatever this
///    collector did not receive itself goes to the monitor's remote feed, stream entries first.
///
/// Ordering invariant: a `fail` or `stop` must never be undone by its own arrival time read back as
/// a beat. The last-seen times are read *before* the event ring is emptied (the drain shares an
/// event before recording its time), events reach Redis before times, a pull reads times before
/// the stream, and the monitor gets the events before the times — so whenever a pulled time
/// belongs to an event, the monitor already has the event, and ignores a time it has already seen.
///
/// Redis unreachable: the round fails and is counted, ingest is untouched (nothing here is on the
/// receive path), and after reconnecting the first push resends every application (resync).
final class HotStateSync: @unchecked Sendable {
    /// The stream keeps about this many entries.
    static let eventsKept = 100_000
    /// Members per `ZADD`.
    static let pushChunk = 1_000

    private let url: String
    let lastSeenKey: String
    let eventsKey: String
    private let collectorID: String
    private let lastSeen: LastSeenTable
    /// Local non-beat records, from the monitor.
    private let localEvents: RowRing
    /// Arrivals at other collectors, to the monitor.
    private let remoteFeed: RowRing
    private let periodMicros: Int64
    private let metrics: HotStateMetrics
    private let worker = WorkerThread()

    init(url: String, keyPrefix: String, collectorID: String, lastSeen: LastSeenTable, localEvents: RowRing, remoteFeed: RowRing, periodMillis: Int, metrics: HotStateMetrics) {
        self.url = url
        self.lastSeenKey = keyPrefix + ":last_seen"
        self.eventsKey = keyPrefix + ":events"
        self.collectorID = collectorID
        self.lastSeen = lastSeen
        self.localEvents = localEvents
        self.remoteFeed = remoteFeed
        self.periodMicros = Int64(periodMillis) * 1_000
        self.metrics = metrics
    }

    /// How far before the previous round a pull starts: a member pushed by another collector can
    /// carry a score up to one of its periods old, plus clock skew between hosts.
    var lookbackMicros: Int64 { 2 * periodMicros + 1_000_000 }

    func start() {
        worker.start(name: "heartbeat-hot-state") { [self] in run() }
    }

    func stop() {
        worker.stop()
    }

    /// State carried from round to round (sync thread only).
    private struct Progress {
        /// The last-seen time pushed for each id (reset to zero after a reconnect: full resync).
        var pushed = [Int64]()
        /// The latest remote arrival handed to the monitor for each id.
        var forwarded = [Int64]()
        /// Pull members scored after this (Unix µs).
        var pullFrom: Int64
        /// Read the stream after this entry id.
        var streamCursor: String
    }

    private func run() {
        let start = WallClock.nowMicros()
        var progress = Progress(pullFrom: start - lookbackMicros, streamCursor: "\((start - lookbackMicros) / 1_000)-0")
        var connection: RedisConnection?
        var scratch = [HeartbeatRow](repeating: HeartbeatRow(applicationID: 0, kind: .beat, instance: 0, sequence: 0, receivedAtMicros: 0, sentAtMicros: 0, status: 0), count: 1_024)
        while !worker.isStopRequested {
            let roundStarted = WallClock.nowMicros()
            do throws(RedisError) {
                if connection == nil {
                    connection = try RedisConnection(url: url)
                    progress.pushed = []  // resync: push every application again
                }
                var changed = changedLastSeen(progress: &progress)
                try share(on: connection!, scratch: &scratch)
                try push(changed, on: connection!)
                changed.removeAll()
                try pull(on: connection!, roundStarted: roundStarted, progress: &progress)
                metrics.redisReachable.store(true, ordering: .relaxed)
                metrics.lastSyncMicros.store(WallClock.nowMicros(), ordering: .relaxed)
                metrics.syncRounds.wrappingIncrement(ordering: .relaxed)
            } catch {
                connection = nil
                metrics.redisReachable.store(false, ordering: .relaxed)
                metrics.syncFailures.wrappingIncrement(ordering: .relaxed)
            }
            let elapsed = WallClock.nowMicros() - roundStarted
            if elapsed < periodMicros { usleep(UInt32(periodMicros - elapsed)) }
        }
    }

    /// The last-seen times that moved since they were last pushed, as `ZADD` score/member
    /// arguments. Marks them pushed: if the push then fails, the reconnect resends everything.
    private func changedLastSeen(progress: inout Progress) -> [String] {
        if progress.pushed.count < lastSeen.capacity {
            progress.pushed += Array(repeating: 0, count: lastSeen.capacity - progress.pushed.count)
        }
        var arguments = [String]()
        var pushed = progress.pushed
        progress.pushed = []  // one owner of the storage while it is updated in place
        lastSeen.forEachReceived { id, received in
            guard id < pushed.count, received > pushed[id] else { return }
            arguments.append(String(received))
            arguments.append(String(id))
            pushed[id] = received
        }
        progress.pushed = pushed
        return arguments
    }

    /// Merges score/member `arguments` into Redis: chunks of ``pushChunk`` members, all queued
    /// before the first reply is read.
    private func push(_ arguments: [String], on connection: RedisConnection) throws(RedisError) {
        var commands = 0
        var index = 0
        while index < arguments.count {
            let end = min(arguments.count, index + 2 * Self.pushChunk)
            try connection.append(["ZADD", lastSeenKey, "GT"] + arguments[index..<end])
            commands += 1
            index = end
        }
        for _ in 0..<commands {
            if case .error(let message) = try connection.readReply() { throw RedisError(operation: "ZADD", message: message) }
        }
        metrics.membersPushed.wrappingIncrement(by: UInt64(arguments.count / 2), ordering: .relaxed)
    }

    /// Appends this collector's non-beat records to the shared stream.
    private func share(on connection: RedisConnection, scratch: inout [HeartbeatRow]) throws(RedisError) {
        var commands = 0
        while true {
            let count = scratch.withUnsafeMutableBufferPointer { localEvents.pop(into: $0.baseAddress!, maximum: $0.count) }
            guard count > 0 else { break }
            for row in scratch[0..<count] {
                try connection.append([
                    "XADD", eventsKey, "MAXLEN", "~", String(Self.eventsKept), "*",
                    "origin", collectorID, "app", String(row.applicationID), "kind", String(row.kind.rawValue),
                    "at", String(row.receivedAtMicros), "interval", String(row.intervalMillis),
                ])
                commands += 1
            }
        }
        for _ in 0..<commands {
            if case .error(let message) = try connection.readReply() { throw RedisError(operation: "XADD", message: message) }
        }
        metrics.eventsShared.wrappingIncrement(by: UInt64(commands), ordering: .relaxed)
    }

    /// Reads what other collectors received and hands the monitor what it has not seen: times
    /// first, then the stream (see the ordering invariant), forwarding stream events first.
    private func pull(on connection: RedisConnection, roundStarted: Int64, progress: inout Progress) throws(RedisError) {
        let reply = try connection.command(["ZRANGEBYSCORE", lastSeenKey, "(\(progress.pullFrom)", "+inf", "WITHSCORES"])
        guard case .array(let items) = reply else { throw RedisError(operation: "ZRANGEBYSCORE", message: "\(reply)") }
        metrics.membersPulled.wrappingIncrement(by: UInt64(items.count / 2), ordering: .relaxed)
        let events = try connection.command(["XREAD", "COUNT", "10000", "STREAMS", eventsKey, progress.streamCursor])

        var allForwarded = true
        if case .array(let streams) = events, case .array(let stream)? = streams.first, stream.count == 2, case .array(let entries) = stream[1] {
            for entry in entries {
                guard case .array(let parts) = entry, parts.count == 2, let entryID = parts[0].text, case .array(let fields) = parts[1] else { continue }
                var values = [String: String]()
                for pair in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let name = fields[pair].text, let value = fields[pair + 1].text { values[name] = value }
                }
                if values["origin"] != collectorID, let id = values["app"].flatMap({ Int32($0) }),
                    let kind = values["kind"].flatMap({ UInt8($0) }).flatMap({ RecordKind(rawValue: $0) }),
                    let at = values["at"].flatMap({ Int64($0) })
                {
                    let row = HeartbeatRow(
                        applicationID: id, kind: kind, instance: 0, sequence: 0, receivedAtMicros: at, sentAtMicros: 0, status: 0,
                        intervalMillis: values["interval"].flatMap { UInt32($0) } ?? 0)
                    guard remoteFeed.push(row) else {
                        metrics.remoteFeedFull.wrappingIncrement(ordering: .relaxed)
                        allForwarded = false
                        break
                    }
                    metrics.remoteArrivalsForwarded.wrappingIncrement(ordering: .relaxed)
                }
                progress.streamCursor = entryID
            }
        }
        guard allForwarded else { return }  // the times wait for their events: next round
        for pair in stride(from: 0, to: items.count - 1, by: 2) {
            guard let id = items[pair].text.flatMap({ Int32($0) }), let score = items[pair + 1].text.flatMap({ Double($0) }) else { continue }
            let row = HeartbeatRow(applicationID: id, kind: .beat, instance: 0, sequence: 0, receivedAtMicros: Int64(score), sentAtMicros: 0, status: 0)
            if !forward(row, progress: &progress) { allForwarded = false }
        }
        // A full feed leaves the window where it was, so those arrivals are offered again.
        if allForwarded { progress.pullFrom = roundStarted - lookbackMicros }
    }

    /// Hands a remote last-seen time to the monitor unless this collector received that record
    /// itself or already forwarded it; false when the feed was full.
    private func forward(_ row: HeartbeatRow, progress: inout Progress) -> Bool {
        let id = Int(row.applicationID)
        guard id >= 0 else { return true }
        if id >= progress.forwarded.count { progress.forwarded += Array(repeating: 0, count: id + 1 - progress.forwarded.count) }
        guard row.receivedAtMicros > progress.forwarded[id], row.receivedAtMicros > lastSeen.entry(for: Int64(id)).receivedMicros else { return true }
        guard remoteFeed.push(row) else {
            metrics.remoteFeedFull.wrappingIncrement(ordering: .relaxed)
            return false
        }
        progress.forwarded[id] = row.receivedAtMicros
        metrics.remoteArrivalsForwarded.wrappingIncrement(ordering: .relaxed)
        return true
    }
}
