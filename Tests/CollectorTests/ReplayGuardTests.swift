@testable import Collector
import Testing

/// ReplayGuard is non-copyable, which `#expect` cannot capture: each verdict is taken first.
@Suite("Replay guard (the drain's anti-replay table)")
struct ReplayGuardTests {
    func row(app: Int32, instance: UInt32, sequence: UInt64, at micros: Int64 = 1_000) -> HeartbeatRow {
        HeartbeatRow(applicationID: app, kind: .beat, instance: instance, sequence: sequence, receivedAtMicros: micros, sentAtMicros: 0, status: 0)
    }

    @Test("windows survive growth: 100,000 instances, each refuses its own duplicate afterwards")
    func growth() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000_000, initialCapacity: 16)
        var firstAccepted = 0
        for index in 0..<100_000 where replayGuard.admit(row(app: Int32(index % 1_000 + 1), instance: UInt32(index), sequence: 5)) {
            firstAccepted += 1
        }
        let count = replayGuard.count
        var duplicatesRefused = 0
        var nextAccepted = 0
        for index in 0..<100_000 {
            if !replayGuard.admit(row(app: Int32(index % 1_000 + 1), instance: UInt32(index), sequence: 5)) { duplicatesRefused += 1 }
            if replayGuard.admit(row(app: Int32(index % 1_000 + 1), instance: UInt32(index), sequence: 6)) { nextAccepted += 1 }
        }
        #expect(firstAccepted == 100_000)
        #expect(count == 100_000)
        #expect(duplicatesRefused == 100_000)
        #expect(nextAccepted == 100_000)
    }

    @Test("the same seq on another app or instance is a different window")
    func keys() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000_000)
        let verdicts = [
            replayGuard.admit(row(app: 1, instance: 1, sequence: 1)),
            replayGuard.admit(row(app: 2, instance: 1, sequence: 1)),
            replayGuard.admit(row(app: 1, instance: 2, sequence: 1)),
            replayGuard.admit(row(app: 1, instance: 1, sequence: 1)),
            replayGuard.admit(row(app: .max, instance: .max, sequence: .max)),
            replayGuard.admit(row(app: .max, instance: .max, sequence: .max)),
        ]
        #expect(verdicts == [true, true, true, false, true, false])
    }

    @Test("idle windows are forgotten, recent ones kept")
    func eviction() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000)
        let first = replayGuard.admit(row(app: 1, instance: 1, sequence: 1, at: 0))
        let second = replayGuard.admit(row(app: 1, instance: 2, sequence: 1, at: 5_000))
        let evicted = replayGuard.evictIdle(nowMicros: 5_500)
        let remaining = replayGuard.count
        let forgottenStartsAgain = replayGuard.admit(row(app: 1, instance: 1, sequence: 1, at: 6_000))
        let keptStillRefuses = !replayGuard.admit(row(app: 1, instance: 2, sequence: 1, at: 6_000))
        #expect(first && second)
        #expect(evicted == 1)
        #expect(remaining == 1)
        #expect(forgottenStartsAgain, "a forgotten instance starts a new window")
        #expect(keptStillRefuses, "a kept window still refuses")
    }

    @Test("two instances of one application alternate: each window stays whole as they trade the primary slot")
    func alternatingInstances() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000_000)
        let verdicts = [
            replayGuard.admit(row(app: 7, instance: 10, sequence: 1)),  // 10 takes the primary slot
            replayGuard.admit(row(app: 7, instance: 20, sequence: 1)),  // 20 takes it, 10 moves aside
            replayGuard.admit(row(app: 7, instance: 10, sequence: 1)),  // 10's window kept: replay
            replayGuard.admit(row(app: 7, instance: 10, sequence: 2)),
            replayGuard.admit(row(app: 7, instance: 20, sequence: 1)),  // 20's window: replay
            replayGuard.admit(row(app: 7, instance: 20, sequence: 2)),
            replayGuard.admit(row(app: 7, instance: 30, sequence: 2)),  // a third: 20 moves aside
            replayGuard.admit(row(app: 7, instance: 20, sequence: 2)),
            replayGuard.admit(row(app: 7, instance: 10, sequence: 2)),
            replayGuard.admit(row(app: 7, instance: 30, sequence: 2)),
        ]
        let count = replayGuard.count
        #expect(verdicts == [true, true, false, true, false, true, true, false, false, false])
        #expect(count == 3)
    }

    @Test("ids past the primary array's limit keep windows in the overflow table alone")
    func beyondPrimaryLimit() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000_000, initialCapacity: 16)
        let far = Int32(ReplayGuard.primaryIDLimit + 5)
        let verdicts = [
            replayGuard.admit(row(app: far, instance: 1, sequence: 3)),
            replayGuard.admit(row(app: far, instance: 2, sequence: 3)),
            replayGuard.admit(row(app: far, instance: 1, sequence: 3)),
            replayGuard.admit(row(app: far, instance: 2, sequence: 4)),
            replayGuard.admit(row(app: 3, instance: 1, sequence: 3)),
            replayGuard.admit(row(app: 3, instance: 1, sequence: 3)),
        ]
        let count = replayGuard.count
        #expect(verdicts == [true, true, false, true, true, false])
        #expect(count == 3)
    }

    @Test("an idle primary window is forgotten while the application's other instance keeps its own")
    func primaryEviction() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000)
        _ = replayGuard.admit(row(app: 2, instance: 1, sequence: 9, at: 5_000))  // moves aside below, stays recent
        _ = replayGuard.admit(row(app: 2, instance: 2, sequence: 9, at: 0))  // primary, then idle
        let evicted = replayGuard.evictIdle(nowMicros: 5_500)
        let verdicts = [
            replayGuard.admit(row(app: 2, instance: 2, sequence: 9, at: 6_000)),  // forgotten: new window
            replayGuard.admit(row(app: 2, instance: 1, sequence: 9, at: 6_000)),  // kept: replay
        ]
        #expect(evicted == 1)
        #expect(verdicts == [true, false])
    }

    @Test("an application holds at most its cap of windows; new instances past it are refused, others unaffected, room returns as windows idle out")
    func perApplicationCap() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000_000, maximumPerApplication: 8, maximumTotal: 100)
        var opened = 0
        for instance in 0..<1_000 where replayGuard.admit(row(app: 3, instance: UInt32(instance), sequence: 1, at: 0)) { opened += 1 }
        let flooded = replayGuard.windows(of: 3)
        // Known instances keep working, another application is not affected.
        let known = replayGuard.check(row(app: 3, instance: 7, sequence: 2, at: 0))
        let stranger = replayGuard.check(row(app: 3, instance: 5_000, sequence: 1, at: 0))
        let other = replayGuard.admit(row(app: 4, instance: 1, sequence: 1, at: 2_000_000))
        let total = replayGuard.count
        #expect(opened == 8 && flooded == 8 && total == 9)
        #expect(known == .admitted && stranger == .newInstance)
        #expect(other)
        // Once the flood's windows are idle past the limit they are forgotten and new ones open again.
        replayGuard.evictIdle(nowMicros: 2_000_000)
        let reopened = replayGuard.admit(row(app: 3, instance: 9_999, sequence: 1, at: 2_000_000))
        let after = replayGuard.windows(of: 3)
        #expect(reopened && after == 1)
    }

    @Test("the guard holds at most its total cap, across applications and beyond the primary array")
    func totalCap() {
        var replayGuard = ReplayGuard(idleLimitMicros: 1_000_000, maximumPerApplication: 1_000, maximumTotal: 50)
        var opened = 0
        for index in 0..<500 {
            let app = Int32(index % 5 == 0 ? ReplayGuard.primaryIDLimit + index : index + 1)
            if replayGuard.admit(row(app: app, instance: UInt32(index), sequence: 1)) { opened += 1 }
        }
        let total = replayGuard.count
        #expect(opened == 50 && total == 50)
    }
}
