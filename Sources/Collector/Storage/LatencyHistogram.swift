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

    /// The counts now, as a value (buckets read one by one: a concurrent `record` may land in the
    /// sum but not yet in its bucket, which a scrape tolerates).
    public var snapshot: HistogramSnapshot {
        HistogramSnapshot(bounds: bounds, bucketCounts: bucketCounts, sum: sum)
    }

    /// The `q` quantile (0…1) of the observations so far; see ``HistogramSnapshot/quantile(_:)``.
    public func quantile(_ q: Double) -> Double? { snapshot.quantile(q) }
}

/// A histogram's counts at one moment: what `/metrics` and `GET /v1/collector` show.
public struct HistogramSnapshot: Sendable, Equatable, Encodable {
    /// Upper bounds of the buckets, in seconds (the last bucket is +Inf).
    public var bounds: [Double]
    /// Observations per bucket (not cumulative); one more than ``bounds``.
    public var bucketCounts: [UInt64]
    /// Sum of the observations, in seconds.
    public var sum: Double

    public init(bounds: [Double], bucketCounts: [UInt64], sum: Double) {
        self.bounds = bounds
        self.bucketCounts = bucketCounts
        self.sum = sum
    }

    /// Observations in all.
    public var count: UInt64 { bucketCounts.reduce(0, +) }

    /// The `q` quantile (0…1), interpolated linearly inside its bucket; `nil` when empty.
    public func quantile(_ q: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = q * Double(total)
        var seen: UInt64 = 0
        for (index, bucket) in bucketCounts.enumerated() where bucket > 0 {
            if Double(seen + bucket) >= rank {
                let lower = index == 0 ? 0 : bounds[index - 1]
                let upper = index < bounds.count ? bounds[index] : bounds[bounds.count - 1] * 2
                return lower + (upper - lower) * (rank - Double(seen)) / Double(bucket)
            }
            seen += bucket
        }
        return bounds.last
    }

    private enum CodingKeys: String, CodingKey { case count, sum, p50, p99, bounds, bucketCounts }

    /// Count, sum, median and 99th percentile (seconds; null when empty), and the buckets.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(sum, forKey: .sum)
        try container.encode(quantile(0.5), forKey: .p50)
        try container.encode(quantile(0.99), forKey: .p99)
        try container.encode(bounds, forKey: .bounds)
        try container.encode(bucketCounts, forKey: .bucketCounts)
    }
}
