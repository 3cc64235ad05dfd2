/// Loss of one instance over a window, from its merged rollups (Spec/storage.md, "Loss"): the
/// sequence numbers the window should have brought, less those that arrived.
///
/// The window should bring every number after the highest seen before it, up to the highest seen
/// in it. Without a number before it — a new instance, one silent longer than the lookback, or a
/// sender that restarted its numbering under the same instance (its highest before is not below
/// the window's highest) — it counts from the lowest number in the window. A record that arrives
/// in a later window than a higher number was counted lost in the earlier window and is not lost
/// over a window that spans both; a window's loss is never negative.
public struct RollupLoss: Equatable, Sendable {
    /// Sequence numbers the window should have brought.
    public var expected: Int64
    /// Sequenced records that arrived.
    public var received: Int64
    /// `expected − received`, at least 0.
    public var lost: Int64

    public static let none = RollupLoss(expected: 0, received: 0, lost: 0)

    public init(expected: Int64, received: Int64, lost: Int64) {
        self.expected = expected
        self.received = received
        self.lost = lost
    }

    /// One instance's loss from its figures in the window (`received` sequenced records, lowest
    /// and highest number) and its highest number before the window (nil when none).
    public static func instance(received: Int64, windowMin: Int64?, windowMax: Int64?, highestBefore: Int64?) -> RollupLoss {
        guard received > 0, let windowMin, let windowMax else { return .none }
        let baseline: Int64
        if let highestBefore, highestBefore < windowMax {
            baseline = highestBefore
        } else {
            baseline = windowMin - 1
        }
        let expected = max(received, windowMax - baseline)
        return RollupLoss(expected: expected, received: received, lost: expected - received)
    }

    /// The sum over instances.
    public static func + (left: RollupLoss, right: RollupLoss) -> RollupLoss {
        RollupLoss(expected: left.expected + right.expected, received: left.received + right.received, lost: left.lost + right.lost)
    }

    /// Lost over expected (0 when nothing was expected).
    public var ratio: Double { expected > 0 ? Double(lost) / Double(expected) : 0 }
}
