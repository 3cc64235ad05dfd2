// The monitor's sweep: how long one check of every application takes, for 10,000 / 100,000 /
// 1,000,000 applications, when nothing is due (the steady state) and when 1 % go late at once,
// with and without the noise thresholds, and with 1 % under an instance quorum;
// what publishing the board for readers (a LivenessView, after every tick) costs; and one cron
// schedule's next fire time, computed when a record arrives or a deadline passes.
import Benchmark
import Collector

private let policy = LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000)
/// The same expectation with the noise thresholds on (Spec/liveness.md).
private let thresholdPolicy = LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000, downAfter: 3, upAfter: 2)

/// A board of `count` applications that all beat at 0 s, except that the first 1 % beat 10 s
/// earlier (so a sweep at 1 s finds exactly them late when `withDue`).
private func board(_ count: Int, withDue: Bool, policy: LivenessPolicy = policy) -> LivenessBoard {
    var board = LivenessBoard(capacity: count, defaultPolicy: policy)
    for id in 0..<count {
        let early = withDue && id < count / 100
        _ = board.receive(.beat, for: id, atMicros: early ? -10_000_000 : 0, recordIntervalMillis: 0)
    }
    return board
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 30
    )
    // 10 % of a million applications on a cron schedule: their deadlines come from next fire
    // times, computed when a record arrives or a deadline passes, so the sweep reads the same
    // one word per application as without them.
    Benchmark("sweep 1000000 apps, 10% on cron schedules, nothing due") { benchmark in
        let count = 1_000_000
        var subject = LivenessBoard(capacity: count, defaultPolicy: policy)
        let cron = LivenessPolicy(expectation: .cron(try CronSchedule("*/5 * * * *", timeZone: "Europe/Berlin"), graceMicros: 60_000_000))
        let start: Int64 = 1_767_225_600_000_000  // 2026-01-01T00:00:00Z
        for id in 0..<count {
            if id % 10 == 0 { subject.setPolicy(cron, for: id) }
            _ = subject.receive(.beat, for: id, atMicros: start, recordIntervalMillis: 0)
        }
        var transitions = [PendingTransition]()
        transitions.reserveCapacity(count)
        benchmark.startMeasurement()
        subject.sweep(nowMicros: start + 1_000_000, into: &transitions)
        benchmark.stopMeasurement()
        precondition(transitions.isEmpty)
    }
    // Thresholds on every application (down_after 3, up_after 2): the down deadline moves, the
    // sweep still reads one word per application; compare with the two cases below without them.
    for withDue in [false, true] {
        Benchmark("sweep 1000000 apps, down_after 3 and up_after 2, \(withDue ? "1% going late" : "nothing due")") { benchmark in
            var subject = board(1_000_000, withDue: withDue, policy: thresholdPolicy)
            var transitions = [PendingTransition]()
            transitions.reserveCapacity(1_000_000)
            benchmark.startMeasurement()
            subject.sweep(nowMicros: 1_000_000, into: &transitions)
            benchmark.stopMeasurement()
            precondition(transitions.count == (withDue ? 10_000 : 0), "\(transitions.count)")
        }
    }
    // Instance quorum on 1 % of a million applications (min_instances 3, three instances each):
    // their deadlines include the moment an instance stops counting; with `lost`, one instance of
    // each expired half a second before the sweep, so it finds all 10,000 short.
    for lost in [false, true] {
        Benchmark("sweep 1000000 apps, 1% under min_instances 3, \(lost ? "one instance of each lost" : "nothing due")") { benchmark in
            let count = 1_000_000
            var subject = LivenessBoard(capacity: count, defaultPolicy: policy)
            let quorum = LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000, minInstances: 3)
            for id in 0..<count {
                guard id % 100 == 0 else {
                    _ = subject.receive(.beat, for: id, atMicros: 0, recordIntervalMillis: 0)
                    continue
                }
                subject.setPolicy(quorum, for: id)
                _ = subject.receive(.beat, for: id, atMicros: lost ? -14_500_000 : 0, recordIntervalMillis: 0, instance: 3)
                for instance: UInt32 in 1...2 { _ = subject.receive(.beat, for: id, atMicros: 0, recordIntervalMillis: 0, instance: instance) }
            }
            var transitions = [PendingTransition]()
            transitions.reserveCapacity(count)
            benchmark.startMeasurement()
            subject.sweep(nowMicros: 1_000_000, into: &transitions)
            benchmark.stopMeasurement()
            precondition(transitions.count == (lost ? count / 100 : 0) && transitions.allSatisfy { $0.transition.to == .short }, "\(transitions.count)")
        }
    }
    for count in [10_000, 100_000, 1_000_000] {
        Benchmark("sweep \(count) apps, nothing due") { benchmark in
            var subject = board(count, withDue: false)
            var transitions = [PendingTransition]()
            transitions.reserveCapacity(count)
            benchmark.startMeasurement()
            subject.sweep(nowMicros: 1_000_000, into: &transitions)
            benchmark.stopMeasurement()
            precondition(transitions.isEmpty)
        }
        Benchmark("publish the view of \(count) apps") { benchmark in
            let subject = board(count, withDue: false)
            benchmark.startMeasurement()
            let view = LivenessView(
                source: .monitor, role: .alone, takenAtMicros: 1_000_000, sequence: 1,
                columns: subject.viewColumns(count: count, latestArrival: { _ in 0 }))
            benchmark.stopMeasurement()
            precondition(view.count == count)
        }
        Benchmark("sweep \(count) apps, 1% going late") { benchmark in
            var subject = board(count, withDue: true)
            var transitions = [PendingTransition]()
            transitions.reserveCapacity(count)
            benchmark.startMeasurement()
            subject.sweep(nowMicros: 1_000_000, into: &transitions)
            benchmark.stopMeasurement()
            precondition(transitions.count == count / 100, "\(transitions.count)")
        }
    }
    // One next-fire computation (target < 2 µs): a fixed time of day in a DST zone, a schedule
    // that walks real minutes through the zone, and a daily one in UTC; `after` moves by 7 h 13 min
    // each time so the search starts from every hour and weekday.
    for (expression, zone) in [("0 3 * * 1-5", "Europe/Berlin"), ("*/15 * * * *", "Europe/Berlin"), ("0 0 * * *", "UTC"), ("30 2 1 * *", "America/New_York")] {
        Benchmark(
            "cron next fire: \(expression) in \(zone)",
            configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .nanoseconds, scalingFactor: .kilo)
        ) { benchmark in
            let schedule = try CronSchedule(expression, timeZone: zone)
            var after: Int64 = 1_767_225_600  // 2026-01-01
            var sum: Int64 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let next = schedule.nextFire(afterSeconds: after) ?? 0
                sum &+= next
                after += 25_980
            }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
    }
}
