#if canImport(Glibc)
import Glibc
#endif

/// Runs work on a detached POSIX thread: for the rare blocking calls (DNS) and the timers that a
/// sender must never run on its caller's thread. ClientKit uses no SwiftNIO or Dispatch, so that
/// embedding it adds no runtime.
enum BackgroundThread {
    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread; returns `false` when the system refused a thread.
    @discardableResult
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let work = Unmanaged.passRetained(Work(body))
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
            work.body()
            return nil
        }, work.toOpaque())
        guard status == 0 else {
            work.release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
