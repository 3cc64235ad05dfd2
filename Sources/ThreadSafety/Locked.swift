#if canImport(Glibc)
import Glibc
#endif

/// State guarded by a POSIX mutex (shared by ClientKit and the collector).
///
/// Why not the standard library's `Mutex`: on Linux it is a futex inside a precompiled library,
/// which the thread sanitizer cannot see, so every correct use is reported as a race and a real
/// race would hide among them. `pthread_mutex_t` is intercepted by the sanitizer and costs the
/// same uncontended.
public final class Locked<State: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    public init(_ state: consuming State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the state, holding the lock.
    public func withLock<Result>(_ body: (inout State) -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&state)
    }
}
