import Atomics
import Foundation
import ThreadSafety

/// A short-lived cache in front of the status reads: each answer (body and ETag) is fresh for
/// ``ttlMicros`` (less up to a fifth, at random, so entries filled together expire apart) under its
/// path and query, so a dashboard polling every second costs PostgreSQL one
/// query per period however many viewers it has. An answer up to ``staleMicros`` past its expiry
/// is still served at once while one background refresh replaces it (stale-while-revalidate; at most
/// ``maximumConcurrentRefreshes`` at a time), so
/// a reader never waits on PostgreSQL for a resource that is being read anyway; older or absent
/// answers are produced while the reader waits. Hits (fresh or stale) and misses are counted.
///
/// Bounded in bytes (``capacityBytes``, bodies and keys) and in entries (``capacity``): a reader
/// who varies a query cannot grow the collector's memory. Callers key entries by the route's
/// normalized, known parameters only (see ``SidecarContext/cachedRead(_:key:contentType:produce:)``),
/// so unknown parameters (a cache-busting nonce) share one entry.
final class ReadCache: @unchecked Sendable {
    struct Entry: Sendable {
        let body: [UInt8]
        let etag: String
        let expiresMicros: Int64
    }

    let ttlMicros: Int64
    let staleMicros: Int64
    private let entries = Locked(Entries())
    /// Keys being refreshed in the background (one refresh per key at a time).
    private let refreshing = Locked(Set<String>())
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
    /// Background refreshes running at once, at most (the database pool's size).
    static let maximumConcurrentRefreshes = 4

    init(ttlMillis: Int = 1_000, staleMillis: Int = 5_000, capacityBytes: Int = 32 << 20) {
        self.capacityBytes = capacityBytes
        ttlMicros = Int64(ttlMillis) * 1_000
        staleMicros = Int64(staleMillis) * 1_000
    }

    /// The cached answer for `key`, or the one `produce` makes (then cached).
    func answer(for key: String, produce: @escaping @Sendable () async throws -> [UInt8]) async throws -> Entry {
        let now = Self.nowMicros()
        if let entry = entries.withLock({ $0.byKey[key] }) {
            if entry.expiresMicros > now {
                hits.wrappingIncrement(ordering: .relaxed)
                return entry
            }
            if entry.expiresMicros + staleMicros > now {
                hits.wrappingIncrement(ordering: .relaxed)
                // At most a few refreshes at once: the hot set's entries all expire about a second
                // after they were filled, and starting every refresh together sent a burst of
                // queries (and dispatch threads) through the 4-connection pool each second —
                // periodic stalls for every reader (Spec/tuning.md). A skipped refresh is simply
                // started by a later reader; the stale answer is still served meanwhile.
                if refreshing.withLock({ $0.count < Self.maximumConcurrentRefreshes && $0.insert(key).inserted }) {
                    // On the sidecar's executor: an unstructured task would otherwise need a free
                    // thread of the global pool, which blocking code elsewhere may be holding.
                    Task(executorPreference: DedicatedExecutor.shared) {
                        defer { self.refreshing.withLock { _ = $0.remove(key) } }
                        if let body = try? await produce() { self.store(key, body) }
                    }
                }
                return entry
            }
        }
        misses.wrappingIncrement(ordering: .relaxed)
        return store(key, try await produce())
    }

    @discardableResult
    private func store(_ key: String, _ body: [UInt8]) -> Entry {
        let now = Self.nowMicros()
        // Lifetimes vary by up to a fifth, so entries filled together do not all expire together.
        let lifetime = ttlMicros - Int64.random(in: 0...(ttlMicros / 5))
        let entry = Entry(body: body, etag: Self.etag(of: body), expiresMicros: now + lifetime)
        let size = body.count + key.utf8.count
        // An answer larger than the whole budget is served but not kept.
        guard size <= capacityBytes else { return entry }
        entries.withLock { entries in
            if let old = entries.byKey.removeValue(forKey: key) { entries.bytes -= old.body.count + key.utf8.count }
            if entries.byKey.count >= Self.capacity || entries.bytes + size > capacityBytes {
                // Make room for a quarter of the budget at once, so a flood of distinct queries
                // pays this sort once per many stores: expired answers go first, then those
                // expiring soonest.
                let target = min(capacityBytes * 3 / 4, capacityBytes - size)
                let order = entries.byKey.sorted { $0.value.expiresMicros < $1.value.expiresMicros }
                for (evicted, value) in order {
                    let stale = value.expiresMicros + staleMicros <= now
                    guard stale || entries.bytes > target || entries.byKey.count >= Self.capacity * 3 / 4 else { break }
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

    /// What the cache holds for `key` right now, fresh or stale (for diagnostics and tests).
    func cachedBody(for key: String) -> [UInt8]? {
        entries.withLock { $0.byKey[key]?.body }
    }

    /// Forgets everything (after a write, so the writer reads its own change).
    func invalidate() {
        entries.withLock { $0 = Entries() }
    }

    /// A strong ETag: FNV-1a 64 of the body, quoted.
    static func etag(of body: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return "\"" + String(hash, radix: 16) + "\""
    }

    private static func nowMicros() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}
