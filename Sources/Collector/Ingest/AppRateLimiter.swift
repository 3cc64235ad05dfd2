import CMemory

/// The per-application budget of the ingest path: a token bucket per application, so that one
/// application flooding the collector (a bug, a loop, an attacker holding its secret) cannot take
/// the storage capacity every other application needs. Records over budget are refused as
/// `rate_limited`.
///
/// Owned by the single ingest drain thread, next to the replay guard: every receiver's rows meet
/// there, so one application's bucket is never touched by two threads (no lock, no atomic). It is a
/// generic cell rate algorithm: per application one "theoretical arrival time" in nanoseconds; a
/// record at `now` is within budget when that time is at most `burst` emission intervals ahead of
/// `now`, and then moves it one interval on. That is a bucket of `burst` tokens refilled at `rate`
/// a second, in 8 bytes per application of a flat array indexed by `application.id` (grown on
/// demand), and its clock is the record's receive time, so a test can drive it exactly.
struct AppRateLimiter: ~Copyable {
    /// Nanoseconds between two records of one application at the sustained rate.
    private let intervalNanos: Int64
    /// How far ahead of now an application's theoretical arrival time may run: (burst − 1) intervals.
    private let toleranceNanos: Int64
    private var arrivals: UnsafeMutablePointer<Int64>
    private var capacity: Int

    /// A limiter letting each application send `recordsPerSecond` sustained and `burst` at once;
    /// nil when `recordsPerSecond` is 0 (no limit).
    init?(recordsPerSecond: Int, burst: Int, initialCapacity: Int = 1 << 16) {
        guard recordsPerSecond > 0 else { return nil }
        intervalNanos = max(1, 1_000_000_000 / Int64(recordsPerSecond))
        toleranceNanos = intervalNanos * Int64(max(burst, 1) - 1)
        capacity = max(initialCapacity, 16)
        arrivals = .allocate(capacity: capacity)
        arrivals.initialize(repeating: 0, count: capacity)
    }

    deinit {
        arrivals.deallocate()
    }

    /// Whether `row`'s application still has budget at the row's receive time; if so, spends it.
    @inline(__always)
    mutating func admit(_ row: HeartbeatRow) -> Bool {
        admitOrWait(row) == 0
    }

    /// 0 when `row`'s application still has budget at the row's receive time (and spends it), else
    /// how many nanoseconds until it would have: what an HTTP ping's `Retry-After` says.
    @inline(__always)
    mutating func admitOrWait(_ row: HeartbeatRow) -> Int64 {
        let index = Int(UInt32(bitPattern: row.applicationID))
        if index >= capacity { grow(toHold: index) }
        let now = row.receivedAtMicros &* 1_000
        let arrival = max(arrivals[index], now)
        let ahead = arrival &- now
        guard ahead <= toleranceNanos else { return ahead - toleranceNanos }
        arrivals[index] = arrival &+ intervalNanos
        return 0
    }

    /// Hints that application `id`'s budget will be checked soon (the drain issues it a few rows
    /// ahead, with its other tables' lines).
    @inline(__always)
    func prefetch(_ id: Int32) {
        let index = Int(UInt32(bitPattern: id))
        if index < capacity { hb_prefetch_for_write(arrivals + index) }
    }

    private mutating func grow(toHold index: Int) {
        var newCapacity = capacity
        while newCapacity <= index { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<Int64>.allocate(capacity: newCapacity)
        grown.initialize(from: arrivals, count: capacity)
        (grown + capacity).initialize(repeating: 0, count: newCapacity - capacity)
        arrivals.deallocate()
        arrivals = grown
        capacity = newCapacity
    }
}
