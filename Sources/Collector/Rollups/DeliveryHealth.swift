/// Loss-aware delivery, the decision: from every application's merged loss over the last window
/// and which ones are marked degraded now, which to mark degraded and which recovered.
///
/// An application is degraded when at least ``minimumExpected`` records were expected and more
/// than ``threshold`` of them were lost; it recovers when, with at least as many expected, the loss
/// is at most half the threshold — the gap keeps a path hovering at the threshold from alternating
/// every minute. An application with too few records expected (silent, or slow) keeps its mark:
/// its liveness says whether it is heard at all, and its path is judged again once it sends.
public struct DeliveryHealth: Sendable, Equatable {
    /// The loss ratio past which an application is degraded (`--delivery-loss-threshold`).
    public var threshold: Double
    /// Records that must have been expected for the ratio to count (`--delivery-min-expected`).
    public var minimumExpected: Int64

    public init(threshold: Double = 0.2, minimumExpected: Int64 = 20) {
        self.threshold = threshold
        self.minimumExpected = minimumExpected
    }

    /// What to record.
    public enum Action: Equatable, Sendable {
        case degrade(applicationID: Int, loss: RollupLoss)
        case recover(applicationID: Int, loss: RollupLoss)
    }

    /// The actions, by application id.
    public func decide(loss: [Int: RollupLoss], degraded: Set<Int>) -> [Action] {
        var actions = [Action]()
        for (applicationID, figures) in loss.sorted(by: { $0.key < $1.key }) where figures.expected >= minimumExpected {
            if degraded.contains(applicationID) {
                if figures.ratio <= threshold / 2 { actions.append(.recover(applicationID: applicationID, loss: figures)) }
            } else if figures.ratio > threshold {
                actions.append(.degrade(applicationID: applicationID, loss: figures))
            }
        }
        return actions
    }
}
