import Atomics

/// A fixed-bucket histogram of durations, safe to update from any thread (relaxed atomic adds),
/// in the shape Prometheus exports: cumulative counts per upper bound, a sum and a count.
public final class LatencyHistogram: Sendable {
    /// Upper bounds of the buckets, in seconds (the last bucket is +Inf).
    public let bounds: [Double]
    private let counts: [ManagedAtomic<UInt64>]
    private let sumMicros = ManagedAtomic<UInt64>(0)

    /// A histogram with the given upper bounds in seconds (ascending).
    public init(bounds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]) {
        precondition(bounds == bounds.sorted() && !bounds.isEmpty, "bounds must be ascending")
        self.bounds = bounds
        counts = (0...bounds.count).map { _ in ManagedAtomic<UInt64>(0) }
    }

    /// Adds `count` observations of `seconds`.
    public func record(_ seconds: Double, count: UInt64 = 1) {
        let index = bounds.firstIndex { seconds <= $0 } ?? bounds.count
        counts[index].wrappingIncrement(by: count, ordering: .relaxed)
        sumMicros.wrappingIncrement(by: UInt64(max(0, seconds) * 1e6) &* count, ordering: .relaxed)
    }

    /// Observations so far.
    public var count: UInt64 { counts.reduce(0) { $0 + $1.load(ordering: .relaxed) } }
    /// Sum of the observations, in seconds.
    public var sum: Double { Double(sumMicros.load(ordering: .relaxed)) / 1e6 }
    /// Observations per bucket (not cumulative); the last is above every bound.
    public var bucketCounts: [UInt64] { counts.map { $0.load(ordering: .relaxed) } }

    /// The `q` quantile (0…1), interpolated linearly inside its bucket; `nil` when empty.
    public func quantile(_ q: Double) -> Double? {
        let buckets = bucketCounts
        let total = buckets.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = q * Double(total)
        var seen: UInt64 = 0
        for (index, bucket) in buckets.enumerated() where bucket > 0 {
            if Double(seen + bucket) >= rank {
                let lower = index == 0 ? 0 : bounds[index - 1]
                let upper = index < bounds.count ? bounds[index] : bounds[bounds.count - 1] * 2
                return lower + (upper - lower) * (rank - Double(seen)) / Double(bucket)
            }
            seen += bucket
        }
        return bounds.last
    }
}
