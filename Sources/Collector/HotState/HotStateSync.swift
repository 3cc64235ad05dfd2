import Atomics
import Foundation
import Protocol

/// Shares last-seen state between collectors through Redis, so that every monitor decides from the
/// global view: an application whose records land on several collectors is never falsely `late`.
///
/// Every ``periodMillis`` one thread, on its own connection, off the receive path, pipelines:
/// 1. **the global state** — the last-seen time of every application that changed since the last
///    round, merged into the sorted set `<prefix>:last_seen` (member `application.id`, score Unix
///    µs) with variadic `ZADD … GT`, so a later arrival always wins whoever reports it;
/// 2. **the same changes, as a delta** — one entry on the stream `<prefix>:updates` with this
///    collector's id, its `start`/`success`/`fail`/`stop` records (which a time cannot carry), the
///    changed times and (format 2) the instances of applications under a quorum its monitor heard,
///    all packed as little-endian binary arrays (``UpdateEncoding``), the stream trimmed to the
///    last ``streamRetentionMillis``;
/// 3. **what the others sent** — new stream entries after its cursor (`XREAD`); entries of other
///    collectors go to the monitor's remote feeds (instances to their own), events before times,
///    and times only when newer than what this collector received itself.
///
/// Reading deltas costs each collector the others' changes once, however many applications there
/// are — not a re-read of every recent member each round.
///
/// Ordering invariant: a `fail` or `stop` must never be undone by its own arrival time read back as
/// a beat. The last-seen times are read *before* the event ring is emptied (the drain shares an
/// event before recording its time, and the time is stored releasing / loaded acquiring), so a
/// time in an entry always has its event in the same or an earlier entry, and the monitor gets
/// events first and ignores a time it has already seen.
///
/// Redis unreachable: the round fails and is counted, ingest is untouched, and after reconnecting
/// the first round pushes every application again (resync) and reads the stream from where it was.
final class HotStateSync: @unchecked Sendable {
    /// Members per `ZADD`, and per stream entry (8,192 × 12 bytes: each entry's buffers stay
    /// below the allocator's mapping threshold, so a round reuses heap memory instead of mapping
    /// and faulting in megabytes).
    static let chunk = 1_000
    static let streamChunk = 8_192
    /// The stream keeps about this much history; a collector away longer resumes from the oldest.
    static let streamRetentionMillis: Int64 = 30_000

    private let url: String
    let lastSeenKey: String
    let updatesKey: String
    private let collectorID: String
    private let lastSeen: LastSeenTable
    /// Local non-beat records, from the drain.
    private let localEvents: RowRing
    /// Arrivals at other collectors, to the monitor.
    private let remoteFeed: RowRing
    /// Instances of applications under a quorum: heard here (from the monitor, as beats naming
    /// their instance), and heard elsewhere (to the monitor).
    private let localInstances: RowRing
    private let remoteInstances: RowRing
    /// The format version this collector writes (``HotStateFormat``).
    private let writeVersion: Int
    private let periodMicros: Int64
    private let metrics: HotStateMetrics
    /// The registry: an application id read from Redis must be one of its ids (1 up to its largest).
    private let registry: RegistryHolder
    let worker = WorkerThread()
    /// Every arrival at any other live collector before this time (Unix µs) has reached this
    /// collector: the oldest `upto` among the collectors heard from within ``liveMicros`` (each
    /// entry says up to when its collector's arrivals are in it; every collector publishes an entry
    /// each round, empty or not). `Int64.max` when no other collector is live. The leader convicts
    /// nobody whose deadline is later — otherwise a record that beat its deadline at another
    /// collector but was not synchronised yet would count as missing. 0 until the first read.
    let consistentUntilMicros = ManagedAtomic<Int64>(0)
    /// A collector not heard from for this long is gone (it cannot report arrivals any more).
    var liveMicros: Int64 { 3 * periodMicros + 1_000_000 }

    init(
        url: String, keyPrefix: String, collectorID: String, lastSeen: LastSeenTable, localEvents: RowRing, remoteFeed: RowRing,
        periodMillis: Int, metrics: HotStateMetrics, registry: RegistryHolder, localInstances: RowRing = RowRing(capacity: 16),
        remoteInstances: RowRing = RowRing(capacity: 16), writeVersion: Int = HotStateFormat.version
    ) {
        self.localInstances = localInstances
        self.remoteInstances = remoteInstances
        self.writeVersion = writeVersion
        self.registry = registry
        self.url = url
        self.lastSeenKey = keyPrefix + ":last_seen"
        self.updatesKey = keyPrefix + ":updates"
        self.collectorID = collectorID
        self.lastSeen = lastSeen
        self.localEvents = localEvents
        self.remoteFeed = remoteFeed
        self.periodMicros = Int64(periodMillis) * 1_000
        self.metrics = metrics
    }

    /// State carried from round to round (sync thread only).
    private struct Progress {
        /// The last-seen time pushed for each id (emptied after a reconnect: full resync).
        var pushed = [Int64]()
        /// The latest remote arrival handed to the monitor for each id.
        var forwarded = [Int64]()
        /// The round's changed last-seen times (one buffer, reused round after round).
        var changed = [(id: Int, micros: Int64)]()
        /// Read the stream after this entry id.
        var streamCursor: String
        /// Per other collector: the `upto` of its latest entry, and when (monotonic µs) it was read.
        var others = [[UInt8]: (upto: Int64, heardMicros: Int64)]()
    }

    func run() {
        // Start a little in the past, so a collector (re)started mid-flight learns recent arrivals.
        var progress = Progress(streamCursor: "\(WallClock.nowMicros() / 1_000 - 2 * periodMicros / 1_000)-0")
        var connection: RedisConnection?
        var scratch = [HeartbeatRow](repeating: HeartbeatRow(applicationID: 0, kind: .beat, instance: 0, sequence: 0, receivedAtMicros: 0, sentAtMicros: 0, status: 0), count: 1_024)
        while !worker.isStopRequested {
            let roundStarted = WallClock.nowMicros()
            do throws(RedisError) {
                if connection == nil {
                    connection = try RedisConnection(url: url)
                    progress.pushed = []  // resync: push every application again
                }
                let changed = changedLastSeen(progress: &progress)  // before the events: see the invariant
                let events = Self.take(localEvents, scratch: &scratch)
                let instances = writeVersion >= 2 ? Self.latestPerInstance(Self.take(localInstances, scratch: &scratch)) : []
                try publish(changed: changed, events: events, instances: instances, upto: roundStarted, on: connection!)
                try readOthers(on: connection!, progress: &progress)
                metrics.redisReachable.store(true, ordering: .relaxed)
                metrics.lastSyncMicros.store(WallClock.nowMicros(), ordering: .relaxed)
                let now = WallClock.monotonicMicros()
                progress.others = progress.others.filter { now - $0.value.heardMicros <= liveMicros }
                consistentUntilMicros.store(progress.others.values.map(\.upto).min() ?? .max, ordering: .releasing)
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

    /// The last-seen times that moved since they were last pushed. Marks them pushed: if the push
    /// then fails, the reconnect resends everything.
    private func changedLastSeen(progress: inout Progress) -> [(id: Int, micros: Int64)] {
        lastSeen.changes(since: &progress.pushed, into: &progress.changed)
        for (id, micros) in progress.changed { progress.pushed[id] = micros }
        return progress.changed
    }

    /// Everything `ring` holds (this collector's non-beat records, or its instance sightings).
    private static func take(_ ring: RowRing, scratch: inout [HeartbeatRow]) -> [HeartbeatRow] {
        var rows = [HeartbeatRow]()
        while true {
            let count = scratch.withUnsafeMutableBufferPointer { ring.pop(into: $0.baseAddress!, maximum: $0.count) }
            guard count > 0 else { break }
            rows += scratch[0..<count]
        }
        return rows
    }

    /// The latest sighting of each (application, instance) among `rows`.
    static func latestPerInstance(_ rows: [HeartbeatRow]) -> [HeartbeatRow] {
        var latest = [UInt64: HeartbeatRow]()
        for row in rows {
            if let seen = latest[row.instanceKey], seen.receivedAtMicros >= row.receivedAtMicros { continue }
            latest[row.instanceKey] = row
        }
        return Array(latest.values)
    }

    /// One pipeline: `ZADD … GT` chunks into the global set, and the delta on the stream — an entry
    /// every round, empty or not, saying that this collector's arrivals before `upto` are in.
    private func publish(
        changed: [(id: Int, micros: Int64)], events: [HeartbeatRow], instances: [HeartbeatRow], upto: Int64, on connection: RedisConnection
    ) throws(RedisError) {
        var commands = 0
        for start in stride(from: 0, to: changed.count, by: Self.chunk) {
            let members = changed[start..<min(changed.count, start + Self.chunk)]
            var command = RESPWriter(argumentCount: 3 + 2 * members.count, reservingCapacity: 64 + 40 * members.count)
            command.argument("ZADD")
            command.argument(lastSeenKey)
            command.argument("GT")
            for (id, micros) in members {
                command.argument(micros)
                command.argument(Int64(id))
            }
            try connection.appendFormatted(command.bytes)
            try connection.flush()
            commands += 1
        }
        let oldest = String(WallClock.nowMicros() / 1_000 - Self.streamRetentionMillis)
        var start = 0
        repeat {
            let slice = changed[start..<min(changed.count, start + Self.streamChunk)]
            var arguments: [[UInt8]] = [
                Array("XADD".utf8), Array(updatesKey.utf8), Array("MINID".utf8), Array("~".utf8), Array(oldest.utf8), Array("*".utf8),
                Array("origin".utf8), Array(collectorID.utf8),
                Array("v".utf8), Array(String(writeVersion).utf8),
                Array("events".utf8), start == 0 ? UpdateEncoding.pack(events: events, version: writeVersion) : [],
                Array("seen".utf8), UpdateEncoding.pack(seen: slice),
            ]
            if writeVersion >= 2, start == 0, !instances.isEmpty { arguments += [Array("instances".utf8), UpdateEncoding.pack(instances: instances)] }
            // Only the round's last entry vouches that everything before `upto` is in.
            if start + Self.streamChunk >= changed.count { arguments += [Array("upto".utf8), Array(String(upto).utf8)] }
            try connection.append(bytes: arguments)
            try connection.flush()
            commands += 1
            start += Self.streamChunk
        } while start < changed.count
        for _ in 0..<commands {
            if case .error(let message) = try connection.readReply() { throw RedisError(operation: "publish hot state", message: message) }
        }
        metrics.membersPushed.wrappingIncrement(by: UInt64(changed.count), ordering: .relaxed)
        metrics.eventsShared.wrappingIncrement(by: UInt64(events.count), ordering: .relaxed)
        metrics.instancesShared.wrappingIncrement(by: UInt64(instances.count), ordering: .relaxed)
    }

    /// Reads the other collectors' entries after the cursor and hands the monitor what it lacks.
    /// A full feed stops the reading at that entry; it is read again next round (forwarding is
    /// idempotent for times, and the monitor ignores a repeated event's non-change).
    private func readOthers(on connection: RedisConnection, progress: inout Progress) throws(RedisError) {
        while true {
            let reply = try connection.command(["XREAD", "COUNT", "64", "STREAMS", updatesKey, progress.streamCursor])
            guard case .array(let streams) = reply, case .array(let stream)? = streams.first, stream.count == 2, case .array(let entries) = stream[1]
            else { return }  // nothing new (a null reply)
            for entry in entries {
                guard case .array(let parts) = entry, parts.count == 2, let entryID = parts[0].text, case .array(let fields) = parts[1] else { continue }
                var values = [String: [UInt8]]()
                for pair in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let name = fields[pair].text, case .bulk(let value) = fields[pair + 1] { values[name] = value }
                }
                if let origin = values["origin"], origin != Array(collectorID.utf8) {
                    guard case .read(let version) = HotStateFormat.verdict(on: values) else {
                        // A format this build cannot read: skipped and counted, never guessed at.
                        metrics.entriesRefused.wrappingIncrement(ordering: .relaxed)
                        progress.streamCursor = entryID
                        continue
                    }
                    // Instances first: a time then finds its instance counted.
                    forward(instances: UpdateEncoding.unpackInstances(values["instances"] ?? []))
                    guard forward(
                        events: UpdateEncoding.unpackEvents(values["events"] ?? [], version: version), seen: UpdateEncoding.unpackSeen(values["seen"] ?? []),
                        progress: &progress)
                    else { return }
                    if let upto = values["upto"].flatMap({ Int64(String(decoding: $0, as: UTF8.self)) }) {
                        progress.others[origin] = (upto, WallClock.monotonicMicros())
                    }
                }
                progress.streamCursor = entryID
            }
            if entries.count < 64 { return }
        }
    }

    /// Hands instances heard elsewhere to the monitor. A full feed drops them (counted with the
    /// feed's): each is heard again at its instance's next beat.
    private func forward(instances: [HeartbeatRow]) {
        let largestID = registry.snapshot.maximumApplicationID
        for row in instances {
            guard row.applicationID >= 1, Int64(row.applicationID) <= largestID else {
                metrics.remoteValuesIgnored.wrappingIncrement(ordering: .relaxed)
                continue
            }
            if !remoteInstances.push(row) { metrics.remoteFeedFull.wrappingIncrement(ordering: .relaxed) }
        }
    }

    /// Hands events, then newer times, to the monitor; false when the feed filled up. Ids outside
    /// the registry (1 up to its largest) are ignored and counted: whoever can write to Redis must
    /// not make this collector allocate an array as large as the id it names. (An application
    /// registered a moment ago elsewhere is picked up by this collector's next registry reload and
    /// its next arrival.)
    private func forward(events: [HeartbeatRow], seen: [(id: Int32, micros: Int64)], progress: inout Progress) -> Bool {
        let largestID = registry.snapshot.maximumApplicationID
        for row in events {
            guard row.applicationID >= 1, Int64(row.applicationID) <= largestID else {
                metrics.remoteValuesIgnored.wrappingIncrement(ordering: .relaxed)
                continue
            }
            guard remoteFeed.push(row) else {
                metrics.remoteFeedFull.wrappingIncrement(ordering: .relaxed)
                return false
            }
            metrics.remoteArrivalsForwarded.wrappingIncrement(ordering: .relaxed)
        }
        metrics.membersPulled.wrappingIncrement(by: UInt64(seen.count), ordering: .relaxed)
        for (id32, micros) in seen {
            let id = Int(id32)
            guard id >= 1, Int64(id) <= largestID else {
                metrics.remoteValuesIgnored.wrappingIncrement(ordering: .relaxed)
                continue
            }
            if id >= progress.forwarded.count { progress.forwarded += Array(repeating: 0, count: id + 1 - progress.forwarded.count) }
            guard micros > progress.forwarded[id], micros > lastSeen.entry(for: Int64(id)).receivedMicros else { continue }
            let row = HeartbeatRow(applicationID: id32, kind: .beat, instance: 0, sequence: 0, receivedAtMicros: micros, sentAtMicros: 0, status: 0)
            guard remoteFeed.push(row) else {
                metrics.remoteFeedFull.wrappingIncrement(ordering: .relaxed)
                return false
            }
            progress.forwarded[id] = micros
            metrics.remoteArrivalsForwarded.wrappingIncrement(ordering: .relaxed)
        }
        return true
    }
}

/// The binary arrays of a `<prefix>:updates` stream entry (`Spec/hot-state.md`), little-endian:
/// `seen` is 12 bytes per application (id i32, arrival µs i64); `events` is 17 bytes per record
/// in version 1 (id i32, kind u8, arrival µs i64, promised interval ms u32) and 21 in version 2
/// (the same, then instance u32); `instances` (version 2) is 16 bytes per sighting (id i32,
/// instance u32, arrival µs i64).
enum UpdateEncoding {
    /// The `seen` array of application ids (any integer type; they fit in an i32) and times.
    static func pack<ID: BinaryInteger>(seen: ArraySlice<(id: ID, micros: Int64)>) -> [UInt8] {
        // Written in place (a round can carry every application: 100,000 pairs and more).
        [UInt8](unsafeUninitializedCapacity: seen.count * 12) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            for (id, micros) in seen {
                raw.storeBytes(of: Int32(truncatingIfNeeded: id).littleEndian, toByteOffset: offset, as: Int32.self)
                raw.storeBytes(of: micros.littleEndian, toByteOffset: offset + 4, as: Int64.self)
                offset += 12
            }
            initialized = offset
        }
    }

    /// Bytes per event in each format version.
    static func eventSize(version: Int) -> Int { version >= 2 ? 21 : 17 }

    static func pack(events: [HeartbeatRow], version: Int = HotStateFormat.version) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(events.count * eventSize(version: version))
        for row in events {
            append(row.applicationID.littleEndian, to: &bytes)
            bytes.append(row.kind.rawValue)
            append(row.receivedAtMicros.littleEndian, to: &bytes)
            append(row.intervalMillis.littleEndian, to: &bytes)
            if version >= 2 { append(row.instance.littleEndian, to: &bytes) }
        }
        return bytes
    }

    /// Instance sightings (beats naming their instance).
    static func pack(instances: [HeartbeatRow]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(instances.count * 16)
        for row in instances {
            append(row.applicationID.littleEndian, to: &bytes)
            append(row.instance.littleEndian, to: &bytes)
            append(row.receivedAtMicros.littleEndian, to: &bytes)
        }
        return bytes
    }

    /// The sightings in `bytes`, as beats naming their instance; a trailing partial one is ignored.
    static func unpackInstances(_ bytes: [UInt8]) -> [HeartbeatRow] {
        stride(from: 0, to: bytes.count - bytes.count % 16, by: 16).map { offset in
            HeartbeatRow(
                applicationID: Int32(littleEndian: load(bytes, offset)), kind: .beat, instance: UInt32(littleEndian: load(bytes, offset + 4)),
                sequence: 0, receivedAtMicros: Int64(littleEndian: load(bytes, offset + 8)), sentAtMicros: 0, status: 0)
        }
    }

    /// The pairs in `bytes`; a trailing partial pair is ignored.
    static func unpackSeen(_ bytes: [UInt8]) -> [(id: Int32, micros: Int64)] {
        stride(from: 0, to: bytes.count - bytes.count % 12, by: 12).map { offset in
            (Int32(littleEndian: load(bytes, offset)), Int64(littleEndian: load(bytes, offset + 4)))
        }
    }

    /// The records in `bytes`, written in `version`; unknown kinds and a trailing partial record
    /// are skipped. Version 1 names no instance: its records read as instance 0.
    static func unpackEvents(_ bytes: [UInt8], version: Int = HotStateFormat.version) -> [HeartbeatRow] {
        let size = eventSize(version: version)
        return stride(from: 0, to: bytes.count - bytes.count % size, by: size).compactMap { offset in
            guard let kind = RecordKind(rawValue: bytes[offset + 4]) else { return nil }
            return HeartbeatRow(
                applicationID: Int32(littleEndian: load(bytes, offset)), kind: kind,
                instance: version >= 2 ? UInt32(littleEndian: load(bytes, offset + 17)) : 0, sequence: 0,
                receivedAtMicros: Int64(littleEndian: load(bytes, offset + 5)), sentAtMicros: 0, status: 0,
                intervalMillis: UInt32(littleEndian: load(bytes, offset + 13)))
        }
    }

    private static func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    private static func load<Value: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int) -> Value {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Value.self) }
    }
}

extension HotStateSync: ThreadedService {
    var threadName: String { "heartbeat-hot-state" }
    var serviceName: String { "Redis hot-state sync" }
}
