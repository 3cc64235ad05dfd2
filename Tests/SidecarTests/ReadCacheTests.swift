import Atomics
import Foundation
@testable import Sidecar
import Testing

/// The status reads' cache: stale answers are served while a bounded number of refreshes run.
@Suite("Read cache")
struct ReadCacheTests {
    @Test("twenty stale entries read at once start at most four background refreshes, and every reader gets an answer at once")
    func refreshesAreBounded() async throws {
        let cache = ReadCache(ttlMillis: 50, staleMillis: 600_000)  // stale for long enough however loaded the machine
        for index in 0..<20 {
            _ = try await cache.answer(for: "key \(index)") { Array("first \(index)".utf8) }
        }
        try await Task.sleep(for: .milliseconds(120))  // every entry is now stale, none gone
        let running = ManagedAtomic<Int>(0)
        let mostAtOnce = ManagedAtomic<Int>(0)
        let started = ManagedAtomic<Int>(0)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                group.addTask {
                    let entry = try await cache.answer(for: "key \(index)") {
                        started.wrappingIncrement(ordering: .relaxed)
                        let now = running.wrappingIncrementThenLoad(ordering: .relaxed)
                        var seen = mostAtOnce.load(ordering: .relaxed)
                        while now > seen, !mostAtOnce.compareExchange(expected: seen, desired: now, ordering: .relaxed).exchanged {
                            seen = mostAtOnce.load(ordering: .relaxed)
                        }
                        try await Task.sleep(for: .milliseconds(200))
                        running.wrappingDecrement(ordering: .relaxed)
                        return Array("second \(index)".utf8)
                    }
                    return String(decoding: entry.body, as: UTF8.self)
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(answers.count == 20 && answers.allSatisfy { $0.hasPrefix("first ") }, "stale answers served at once: \(answers)")
        // The refreshes run in the background; once they are over, count them.
        try await Task.sleep(for: .milliseconds(600))
        let refreshes = started.load(ordering: .relaxed)
        #expect(refreshes >= 1 && refreshes <= ReadCache.maximumConcurrentRefreshes, "refreshes started: \(refreshes)")
        #expect(mostAtOnce.load(ordering: .relaxed) <= ReadCache.maximumConcurrentRefreshes)
        // A refreshed entry now holds the new answer.
        let refreshed = (0..<20).filter { index in
            cache.cachedBody(for: "key \(index)").map { String(decoding: $0, as: UTF8.self).hasPrefix("second ") } ?? false
        }
        #expect(refreshed.count == refreshes, "refreshed \(refreshed)")
    }

    @Test("the cache holds at most its byte budget, however many distinct keys are read")
    func byteBound() async throws {
        let cache = ReadCache(ttlMillis: 60_000, staleMillis: 60_000, capacityBytes: 1 << 20)
        for index in 0..<300 {
            _ = try await cache.answer(for: "apps nonce=\(index)") { [UInt8](repeating: 7, count: 100_000) }
            #expect(cache.bytesHeld <= 1 << 20)
        }
        #expect(cache.count <= 10 && cache.count >= 7, "\(cache.count) entries")
        // The newest answer is always kept; an answer over the whole budget is served, not kept.
        #expect(cache.cachedBody(for: "apps nonce=299") != nil)
        let huge = try await cache.answer(for: "huge") { [UInt8](repeating: 1, count: 2 << 20) }
        #expect(huge.body.count == 2 << 20 && cache.cachedBody(for: "huge") == nil)
    }
}
