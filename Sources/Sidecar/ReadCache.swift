import Atomics
import Foundation
import ThreadSafety

/// An exact, short-lived cache in front of the history reads (events, transitions, loss): each
/// answer (body and ETag) is served for at most ``ttlMicros`` after PostgreSQL produced it, never
/// longer — no stale-while-revalidate — so the `Cache-Control: max-age` a response carries is true.
/// Readers who miss the same key at once share one query (one producer per key in flight), so a
/// dashboard polling every second costs PostgreSQL one query per period however many viewers it
/// has. Hits and misses are counted.
///
/// Bounded in bytes (``capacityBytes``, bodies and keys) and in entries (``capacity``): a reader
/// who varies a query cannot grow the collector's memory. Callers key entries by the route's
/// normalized, known parameters only (see ``SidecarContext/cachedRead(_:key:contentType:produce:)``),
/// so unknown parameters (a cache-busting nonce) share one entry.
final class ReadCache: @unchecked Sendable {
    struct Entry: Sendable {
        let body: [UInt8]
        let etag: String
        /// The `Heartbeat-Read-Source` of the reads that produced it (nil without a replica).
        var readSource: String? = nil
        /// When PostgreSQL produced it (Unix µs).
        let producedMicros: Int64
        let expiresMicros: Int64
    }

    let ttlMicros: Int64
    private let entries = Locked(Entries())
    /// The query in flight for each key: readers who miss together wait for the same one.
    private let inFlight = Locked([String: Task<Entry, any Error>]())
    /// Bumped by ``invalidate()``: an answer produced across a write is served to the readers who
    /// waited for it but not kept, and readers who come after the write start a query of their own.
    private let generation = ManagedAtomic<UInt64>(0)
    let hits = ManagedAtomic<UInt64>(0)
    let misses = ManagedAtomic<UInt64>(0)
    /// The entries and the bytes they hold (bodies and keys), changed together under one lock.
    private struct Entries {
        var byKey: [String: Entry] = [:]
        var bytes = 0
    }

    /// Entries beyond this are dropped (those expiring first) so many distinct queries cannot grow memory.
    static let capacity = 10_000
    /// Bytes of bodies and keys held at most (room for about a hundred of the largest pages).
    let capacityBytes: Int

    init(ttlMillis: Int = 1_000, capacityBytes: Int = 32 << 20) {
        self.capacityBytes = capacityBytes
        ttlMicros = Int64(ttlMillis) * 1_000
    }

    /// The cached answer for `key` while it is younger than the TTL, else the one `produce` makes
    /// (then cached); concurrent misses of one key share one `produce`.
    func answer(for key: String, produce: @escaping @Sendable () async throws -> [UInt8]) async throws -> Entry {
        try await lookup(key, produce: produce).entry
    }

    /// ``answer(for:produce:)``, and whether it came from the cache (`hit`) rather than a query
    /// this reader started or joined.
    func lookup(_ key: String, produce: @escaping @Sendable () async throws -> [UInt8]) async throws -> (entry: Entry, hit: Bool) {
        if let entry = entries.withLock({ $0.byKey[key] }), entry.expiresMicros > Self.nowMicros() {
            hits.wrappingIncrement(ordering: .relaxed)
            return (entry, true)
        }
        misses.wrappingIncrement(ordering: .relaxed)
        let task = inFlight.withLock { running in
            if let task = running[key] { return task }
            // On the sidecar's executor: an unstructured task would otherwise need a free thread
            // of the global pool, which blocking code elsewhere may be holding.
            let started = generation.load(ordering: .acquiring)
            let task = Task(executorPreference: DedicatedExecutor.shared) { [self] () async throws -> Entry in
                let produced = Self.nowMicros()
                defer {
                    inFlight.withLock { running in
                        if generation.load(ordering: .acquiring) == started { running[key] = nil }
                    }
                }
                let note = ReadSourceNote()
                let body = try await ReadSourceNote.$current.withValue(note) { try await produce() }
                return store(key, body, readSource: note.source, producedMicros: produced, generation: started)
            }
            running[key] = task
            return task
        }
        return (try await task.value, false)
    }

    @discardableResult
    private func store(_ key: String, _ body: [UInt8], readSource: String?, producedMicros: Int64, generation started: UInt64) -> Entry {
        let entry = Entry(body: body, etag: Self.etag(of: body), readSource: readSource, producedMicros: producedMicros, expiresMicros: producedMicros + ttlMicros)
        let size = body.count + key.utf8.count
        // An answer larger than the whole budget is served but not kept.
        guard size <= capacityBytes else { return entry }
        let now = Self.nowMicros()
        entries.withLock { entries in
            guard generation.load(ordering: .acquiring) == started else { return }
            if let old = entries.byKey.removeValue(forKey: key) { entries.bytes -= old.body.count + key.utf8.count }
            if entries.byKey.count >= Self.capacity || entries.bytes + size > capacityBytes {
                // Make room for a quarter of the budget at once, so a flood of distinct queries
                // pays this sort once per many stores: expired answers go first, then those
                // expiring soonest.
                let target = min(capacityBytes * 3 / 4, capacityBytes - size)
                let order = entries.byKey.sorted { $0.value.expiresMicros < $1.value.expiresMicros }
                for (evicted, value) in order {
                    let expired = value.expiresMicros <= now
                    guard expired || entries.bytes > target || entries.byKey.count >= Self.capacity * 3 / 4 else { break }
                    entries.byKey[evicted] = nil
                    entries.bytes -= value.body.count + evicted.utf8.count
                }
            }
            entries.byKey[key] = entry
            entries.bytes += size
        }
        return entry
    }

    /// Bytes the cache holds (bodies and keys).
    var bytesHeld: Int { entries.withLock { $0.bytes } }
    /// Entries the cache holds.
    var count: Int { entries.withLock { $0.byKey.count } }

    /// What the cache holds for `key` right now, expired or not (for diagnostics and tests).
    func cachedBody(for key: String) -> [UInt8]? {
        entries.withLock { $0.byKey[key]?.body }
    }

    /// Forgets everything (after a write, so the writer reads its own change).
    func invalidate() {
        entries.withLock { entries in
            generation.wrappingIncrement(ordering: .releasing)
            entries = Entries()
        }
        inFlight.withLock { $0.removeAll() }
    }

    /// A strong ETag: FNV-1a 64 of the body, quoted.
    static func etag(of body: [UInt8]) -> String {
        let hash = body.withUnsafeBufferPointer { bytes in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            return hash
        }
        return "\"" + String(hash, radix: 16) + "\""
    }

    static func nowMicros() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}
