@testable import Collector
import Protocol
import Testing

/// The per-application token bucket, driven by the rows' own receive times.
@Suite("App rate limiter")
struct AppRateLimiterTests {
    private static let start: Int64 = 1_700_000_000_000_000

    /// Offers one record per `(application, µs after start)` to `limiter` and returns which passed
    /// (the limiter is not copyable, so `#expect` cannot call it directly).
    private func offer(_ limiter: inout AppRateLimiter, _ records: [(application: Int32, afterMicros: Int64)]) -> [Bool] {
        records.map { record in
            limiter.admit(HeartbeatRow(
                applicationID: record.application, kind: .beat, instance: 1, sequence: 1, receivedAtMicros: Self.start + record.afterMicros,
                sentAtMicros: Self.start, status: 0, intervalMillis: 1_000))
        }
    }

    @Test("a burst passes, the next record is refused, and the budget refills at the rate")
    func burstThenRefill() {
        guard var limiter = AppRateLimiter(recordsPerSecond: 100, burst: 5) else {
            Issue.record("a positive rate made no limiter")
            return
        }
        let burst = offer(&limiter, Array(repeating: (1, 0), count: 8))
        #expect(burst == [true, true, true, true, true, false, false, false])
        // 100/s: one record's budget returns every 10 ms, not sooner.
        let refill = offer(&limiter, [(1, 9_000), (1, 10_000), (1, 10_000)])
        #expect(refill == [false, true, false])
        // Idle for a second: the whole burst is back, and no more.
        let later = offer(&limiter, Array(repeating: (1, 1_010_000), count: 6))
        #expect(later == [true, true, true, true, true, false])
    }

    @Test("one application's flood does not spend another's budget, across growth of the table")
    func applicationsAreIndependent() {
        guard var limiter = AppRateLimiter(recordsPerSecond: 10, burst: 2, initialCapacity: 16) else {
            Issue.record("a positive rate made no limiter")
            return
        }
        let flood = offer(&limiter, Array(repeating: (3, 0), count: 1_000))
        #expect(flood.filter { $0 }.count == 2)
        // Application 100,000 lies beyond the initial table: it grows, and 3's state survives.
        let others = offer(&limiter, [(4, 0), (100_000, 0), (100_000, 0), (100_000, 0), (3, 0)])
        #expect(others == [true, true, true, false, false])
    }

    @Test("a rate of 0 means no limiter")
    func zeroIsUnlimited() {
        var made = false
        if AppRateLimiter(recordsPerSecond: 0, burst: 10) != nil { made = true }
        #expect(!made)
    }
}
