#if canImport(Glibc)
import Glibc
#endif

/// The collector's wall clock in the wire format's unit: receive times, commit times, deadlines.
public enum WallClock {
    /// Now as Unix time in microseconds.
    @inline(__always)
    public static func nowMicros() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
    }

    /// A clock that only moves forward (CLOCK_MONOTONIC, µs since an arbitrary point): for leases
    /// and timeouts, which must not jump with the wall clock. It keeps running while the process is
    /// stopped (SIGSTOP), so a lease held before a stop is seen to have run out after it.
    static func monotonicMicros() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
    }

    /// CPU time the calling thread has used, in nanoseconds: what a piece of work cost itself,
    /// apart from the time it waited for a core on a busy machine.
    static func threadCPUNanos() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
