@testable import Collector
import Testing

/// When a lane tries again to mark outcomes PostgreSQL refused, as a table.
@Suite("Outcome mark retry")
struct OutcomeMarkRetryTests {
    @Test(
        "waits 0.1 s, doubling to 2 s, while a third of the lease allows; then gives the rows back to their lease",
        arguments: [
            (1, 0.0, 0.1), (2, 0.1, 0.2), (3, 0.3, 0.4), (5, 1.5, 1.6), (6, 3.1, 2.0), (40, 10.0, 2.0),
            (12, 18.0, 2.0), (13, 18.1, nil), (1, 20.0, nil), (1, 19.9, 0.1),
        ] as [(Int, Double, Double?)])
    func schedule(failures: Int, elapsed: Double, expected: Double?) {
        let retry = OutcomeMarkRetry(leaseSeconds: 60)
        let wait = retry.delay(afterFailures: failures, elapsedSeconds: elapsed)
        #expect(wait.map { ($0 * 1_000).rounded() } == expected.map { ($0 * 1_000).rounded() })
    }

    @Test("a shorter lease gives a shorter budget")
    func budget() {
        #expect(OutcomeMarkRetry(leaseSeconds: 3).budgetSeconds == 1)
        #expect(OutcomeMarkRetry(leaseSeconds: 3).delay(afterFailures: 4, elapsedSeconds: 0.3) == nil)
        #expect(OutcomeMarkRetry(leaseSeconds: 3).delay(afterFailures: 3, elapsedSeconds: 0.3) != nil)
    }
}
