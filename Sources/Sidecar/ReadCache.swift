import Atomics
import Foundation
import ThreadSafety

/// A short-lived cache in front of the status reads: each answer (body and ETag) is kept for
/// ``ttlMicros`` under its path and query, so a dashboard polling every second costs PostgreSQL one
/// query per period however many viewers it has. Hits and misses are counted for `/metrics`.
final class ReadCache: @unchecked Sendable {
    struct Entry: Sendable {
        let body: [UInt8]
        let etag: String
        let expiresMicros: Int64
    }

    let ttlMicros: Int64
    private let entries = Locked([String: Entry]())
    let hits = ManagedAtomic<UInt64>(0)
    let misses = ManagedAtomic<UInt64>(0)
    /// Entries beyond this are dropped (oldest first) so many distinct queries cannot grow memory.
    static let capacity = 10_000

    init(ttlMillis: Int = 1_000) {
        ttlMicros = Int64(ttlMillis) * 1_000
    }

    /// The cached answer for `key`, or the one `produce` makes (then cached).
    func answer(for key: String, produce: () async throws -> [UInt8]) async throws -> Entry {
        let now = Self.nowMicros()
        if let entry = entries.withLock({ $0[key] }), entry.expiresMicros > now {
            hits.wrappingIncrement(ordering: .relaxed)
            return entry
        }
        misses.wrappingIncrement(ordering: .relaxed)
        let body = try await produce()
        let entry = Entry(body: body, etag: Self.etag(of: body), expiresMicros: now + ttlMicros)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries = entries.filter { $0.value.expiresMicros > now } }
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[key] = entry
        }
        return entry
    }

    /// Forgets everything (after a write, so the writer reads its own change).
    func invalidate() {
        entries.withLock { $0.removeAll() }
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
