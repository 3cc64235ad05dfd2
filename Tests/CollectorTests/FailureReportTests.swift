@testable import Collector
import Testing

/// When a component says a failure on standard error, as a table: failure times in, lines out.
@Suite("Failure report")
struct FailureReportTests {
    static let second: Int64 = 1_000_000

    @Test(
        "the first failure is said at once; later ones at most once per 30 s, with how many went unsaid",
        arguments: [
            ([0], [0]),
            ([0, 1, 2, 3], [0, nil, nil, nil]),
            ([0, 10, 20, 30], [0, nil, nil, 2]),
            ([0, 29, 31, 40, 61], [0, nil, 1, nil, 1]),
            ([5, 100, 200], [0, 0, 0]),
        ] as [([Int64], [Int?])])
    func cadence(failures: [Int64], expected: [Int?]) {
        var report = FailureReport()
        #expect(failures.map { report.failed(atMicros: $0 * Self.second) } == expected)
    }

    @Test("the line names the operation, the unsaid failures when there were any, and the error")
    func line() {
        let error = PostgresError(operation: "query", message: "canceling statement due to statement timeout", sqlState: "57014")
        let first = FailureReport.line("monitor", "recording transitions", error, unreported: 0)
        #expect(first.hasPrefix("heartbeat: monitor: recording transitions failed, retried next tick: "))
        #expect(first.contains("statement timeout") && first.hasSuffix("\n"))
        #expect(!first.contains("more since"))
        #expect(FailureReport.line("monitor", "closing an incident", error, unreported: 7).contains("(7 more since the last line)"))
        #expect(FailureReport.line("notifications", "marking a lane's outcomes", error, unreported: 0, retried: "tried again within 20 s")
            .hasPrefix("heartbeat: notifications: marking a lane's outcomes failed, tried again within 20 s: "))
    }
}
