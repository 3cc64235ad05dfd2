import Atomics
import Foundation
import HeartbeatTestSupport
@testable import Sidecar
import Testing

/// The history reads' cache: exact (never past its TTL), shared by concurrent misses, bounded in bytes.
@Suite("Read cache")
struct ReadCacheTests {
    @Test("an answer is never served past its TTL; twenty readers who miss one key at once share one query")
    func exactAndShared() async throws {
        // Off the cooperative pool: parallel blocking tests can hold its threads for seconds.
        try await withTaskExecutorPreference(QueueTaskExecutor(label: "read-cache-test")) {
            // A TTL no scheduling delay can outlast, for the sharing and the hit.
            let cache = ReadCache(ttlMillis: 60_000)
            let produced = ManagedAtomic<Int>(0)
            // The first query waits until all twenty readers have missed (by the cache's own count),
            // however slowly a loaded machine starts them.
            let produce: @Sendable () async throws -> [UInt8] = {
                let number = produced.wrappingIncrementThenLoad(ordering: .relaxed)
                let deadline = ContinuousClock.now + .seconds(30)
                while number == 1, cache.misses.load(ordering: .relaxed) < 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
                return Array("answer \(number)".utf8)
            }
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 { group.addTask { String(decoding: try await cache.answer(for: "key", produce: produce).body, as: UTF8.self) } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(produced.load(ordering: .relaxed) == 1 && Set(answers) == ["answer 1"], "one query for 20 readers: \(answers)")
            let first = try await cache.answer(for: "key", produce: produce)
            #expect(String(decoding: first.body, as: UTF8.self) == "answer 1", "fresh: a hit")
            #expect(cache.hits.load(ordering: .relaxed) == 1 && cache.misses.load(ordering: .relaxed) == 20)

            // A short TTL for the expiry: waiting longer than it (however much longer) must give a new answer.
            let short = ReadCache(ttlMillis: 200)
            let old = try await short.answer(for: "key", produce: produce)
            try await Task.sleep(for: .milliseconds(300))
            // Past the TTL the reader waits for a new answer rather than getting the old one.
            let later = try await short.answer(for: "key", produce: produce)
            #expect(String(decoding: old.body, as: UTF8.self) == "answer 2" && String(decoding: later.body, as: UTF8.self) == "answer 3")
            #expect(later.producedMicros >= old.expiresMicros)
            #expect(short.hits.load(ordering: .relaxed) == 0 && short.misses.load(ordering: .relaxed) == 2)
        }
    }

    @Test("an answer produced across invalidate() is not kept, and readers after it get a new one")
    func invalidateDuringQuery() async throws {
        // Off the cooperative pool: parallel blocking tests can hold its threads for seconds.
        try await withTaskExecutorPreference(QueueTaskExecutor(label: "read-cache-test")) {
            let cache = ReadCache(ttlMillis: 60_000)
            let produced = ManagedAtomic<Int>(0)
            let firstMayFinish = ManagedAtomic<Bool>(false)
            // The first query is held open until the test has invalidated the cache, however late the
            // pool gets round to starting it: ordering by gate, not by sleeping.
            let gated: @Sendable () async throws -> [UInt8] = {
                let number = produced.wrappingIncrementThenLoad(ordering: .relaxed)
                while number == 1 && !firstMayFinish.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(2)) }
                return Array("answer \(number)".utf8)
            }
            async let before = cache.answer(for: "key", produce: gated)
            let deadline = ContinuousClock.now + .seconds(20)
            while produced.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            #expect(produced.load(ordering: .relaxed) == 1, "the first query started")
            cache.invalidate()  // a write committed while the first query ran
            let after = try await cache.answer(for: "key", produce: gated)
            firstMayFinish.store(true, ordering: .releasing)
            #expect(String(decoding: after.body, as: UTF8.self) == "answer 2")
            #expect(String(decoding: try await before.body, as: UTF8.self) == "answer 1")
            #expect(cache.cachedBody(for: "key").map { String(decoding: $0, as: UTF8.self) } == "answer 2")
        }
    }

    @Test("the cache holds at most its byte budget, however many distinct keys are read")
    func byteBound() async throws {
        // Off the cooperative pool: parallel blocking tests can hold its threads for seconds.
        try await withTaskExecutorPreference(QueueTaskExecutor(label: "read-cache-test")) {
            let cache = ReadCache(ttlMillis: 60_000, capacityBytes: 1 << 20)
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
}
