import Collector
import Protocol
import Testing

@Suite("Liveness board (the monitor's sweep)")
struct LivenessBoardTests {
    let policy = LivenessPolicy(intervalMicros: 10_000_000, graceMicros: 5_000_000)

    @Test("a sweep finds exactly the applications whose deadlines passed, each transition once")
    func sweep() {
        var board = LivenessBoard(capacity: 1_000, defaultPolicy: policy)
        for id in 1..<1_000 {
            // Odd ids beat at 0 s, even ids at 8 s; id 7 stops; id 9 fails.
            _ = board.receive(.beat, for: id, atMicros: id.isMultiple(of: 2) ? 8_000_000 : 0, recordIntervalMillis: 0)
        }
        _ = board.receive(.stop, for: 7, atMicros: 1_000_000, recordIntervalMillis: 0)
        _ = board.receive(.fail, for: 9, atMicros: 1_000_000, recordIntervalMillis: 0)
        var transitions = [PendingTransition]()
        board.sweep(nowMicros: 12_000_000, into: &transitions)
        let odd = (1..<1_000).filter { !$0.isMultiple(of: 2) && $0 != 7 && $0 != 9 }
        #expect(transitions.map(\.applicationID) == odd)
        #expect(transitions.allSatisfy { $0.transition.to == .late && $0.transition.atMicros == 10_000_000 })

        transitions.removeAll()
        board.sweep(nowMicros: 12_000_000, into: &transitions)
        #expect(transitions.isEmpty, "nothing twice")

        board.sweep(nowMicros: 19_000_000, into: &transitions)
        let even = (1..<1_000).filter { $0.isMultiple(of: 2) }
        #expect(transitions.filter { $0.transition.to == .down }.map(\.applicationID) == odd)
        #expect(transitions.filter { $0.transition.to == .late }.map(\.applicationID) == even)
        #expect(board.machine(for: 7).status == .paused && board.machine(for: 9).status == .down)
        #expect(board.machine(for: 0).status == .new)
    }

    @Test("a new policy moves the deadline")
    func policyChange() {
        var board = LivenessBoard(capacity: 4, defaultPolicy: policy)
        _ = board.receive(.beat, for: 1, atMicros: 0, recordIntervalMillis: 0)
        board.setPolicy(LivenessPolicy(intervalMicros: 60_000_000, graceMicros: 0), for: 1)
        var transitions = [PendingTransition]()
        board.sweep(nowMicros: 30_000_000, into: &transitions)
        #expect(transitions.isEmpty)
        board.sweep(nowMicros: 60_000_000, into: &transitions)
        #expect(transitions.map(\.transition.to) == [.late, .down])
    }

    @Test("the readers' view holds each application's status, since, arrival, deadline and last run, up to the ids asked for")
    func viewColumns() {
        var board = LivenessBoard(capacity: 8, defaultPolicy: policy)
        _ = board.receive(.beat, for: 1, atMicros: 1_000_000, recordIntervalMillis: 0)
        _ = board.receive(.start, for: 2, atMicros: 1_000_000, recordIntervalMillis: 0)
        _ = board.receive(.success, for: 2, atMicros: 4_000_000, recordIntervalMillis: 0)
        _ = board.receive(.stop, for: 3, atMicros: 2_000_000, recordIntervalMillis: 0)
        let view = LivenessView(
            source: .monitor, role: .alone, takenAtMicros: 5_000_000, sequence: 1,
            columns: board.viewColumns(count: 4, latestArrival: { $0 == 1 ? 1_500_000 : .min }))
        #expect(view.count == 4, "ids 0-3, not the board's capacity")
        #expect(view[0] == LivenessView.Entry(status: .new, sinceMicros: .min, lastArrivalMicros: .min, nextDeadlineMicros: nil, lastRun: nil))
        #expect(view[1] == LivenessView.Entry(
            status: .up, sinceMicros: 1_000_000, lastArrivalMicros: 1_500_000, nextDeadlineMicros: 11_000_000, lastRun: nil))
        #expect(view[2]?.lastRun?.durationMicros == 3_000_000 && view[2]?.lastRun?.endedMicros == 4_000_000)
        #expect(view[2]?.nextDeadlineMicros == Int64(14_000_000))
        #expect(view[3]?.status == .paused && view[3]?.nextDeadlineMicros == nil && view[3]?.sinceMicros == 2_000_000)
        #expect(view[4] == nil && view[-1] == nil)
    }
}
