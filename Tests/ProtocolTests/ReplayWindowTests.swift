import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Anti-replay window")
struct ReplayWindowTests {
    @Test("table of sequences and verdicts")
    func table() {
        let cases: [(sequences: [UInt64], admitted: [Bool])] = [
            ([1, 2, 3], [true, true, true]),
            ([1, 1], [true, false]),
            ([5, 3, 4, 3, 5], [true, true, true, false, false]),
            ([100, 37, 36], [true, true, false]),
            ([100, 100 + 64, 100], [true, true, false]),
            ([10, 10 + 63, 10], [true, true, false]),
            ([10, 10 + 62, 10], [true, true, false]),
            ([10, 10 + 63, 11], [true, true, true]),
            ([UInt64.max, UInt64.max, UInt64.max - 63, UInt64.max - 64], [true, false, true, false]),
            ([64, 1], [true, true]),
            ([65, 1], [true, false]),
        ]
        for (sequences, admitted) in cases {
            var window = ReplayWindow()
            #expect(sequences.map { window.admit($0) } == admitted, "\(sequences)")
        }
    }

    @Test("agrees with a model that remembers every accepted sequence")
    func matchesModel() {
        let seed = propertySeed()
        var generator = SplitMix64(seed: seed)
        for _ in 0..<200 {
            var window = ReplayWindow()
            var acceptedSoFar = Set<UInt64>()
            var highest: UInt64 = 0
            var next: UInt64 = 1
            for _ in 0..<500 {
                // Mostly moving forward, sometimes jumping, often going back inside and beyond the window.
                let sequence: UInt64
                switch UInt8.random(in: 0..<10, using: &generator) {
                case 0..<4: next += UInt64.random(in: 0...3, using: &generator); sequence = next
                case 4: next += UInt64.random(in: 60...70, using: &generator); sequence = next
                default:
                    let back = UInt64.random(in: 0...80, using: &generator)
                    sequence = next > back ? next - back : 1
                }
                let insideWindow = sequence > highest || highest - sequence < 64
                let model = !acceptedSoFar.contains(sequence) && insideWindow
                #expect(window.admit(sequence) == model, "seed \(seed), sequence \(sequence), highest \(highest)")
                if model {
                    acceptedSoFar.insert(sequence)
                    highest = max(highest, sequence)
                }
                #expect(window.highest == highest)
            }
        }
    }

    @Test("admitting leaves the window unchanged on a replay")
    func admittingIsPure() {
        let window = ReplayWindow().admitting(7)!
        #expect(window.admitting(7) == nil)
        #expect(window == ReplayWindow(highest: 7, accepted: 1))
    }
}
