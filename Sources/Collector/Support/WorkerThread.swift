import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One named thread that runs a loop until asked to stop, and the way to stop it and wait for it.
///
/// Every long-running part of the collector (receivers, drain, monitor, registry follower,
/// auto-registrar, partition maintenance) is one of these: the loop checks ``isStopRequested``
/// between units of work, and ``stop()`` returns only once the loop has returned, so shutdown can
/// run in order. `start` and `stop` are called by the owner, from one thread. Public so that the
/// sidecar's own loops (the replica monitor) run the same way.
public final class WorkerThread: @unchecked Sendable {
    private let stopRequested = ManagedAtomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Whether the thread was started and not yet stopped (owner thread only).
    private var running = false

    /// Whether ``stop()`` was called; the loop ends its work and returns when it sees this.
    public var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    public init() {}

    /// Sleeps about `micros` in steps of at most 50 ms, returning early once ``stop()`` is
    /// called, so that a loop which waits between rounds stops within 50 ms.
    public func pause(micros: Int64) {
        var slept: Int64 = 0
        while slept < micros, !isStopRequested {
            let step = min(50_000, micros - slept)
            usleep(UInt32(step))
            slept += step
        }
    }

    /// Starts `body` on a new thread called `name`. The kernel's name for the thread (what `top -H`
    /// and /proc/PID/task/*/comm show) is `name` without its `heartbeat-` prefix, behind `hb-`,
    /// cut to the kernel's 15 characters: `hb-receiver`, `hb-drain`.
    public func start(name: String, qualityOfService: QualityOfService = .default, _ body: @escaping @Sendable () -> Void) {
        precondition(!running, "\(name) was started twice")
        running = true
        let kernelName = Self.kernelName(for: name)
        let thread = Thread { [finished] in
            Self.nameCurrentThread(kernelName)
            body()
            finished.signal()
        }
        thread.name = name
        thread.qualityOfService = qualityOfService
        thread.start()
    }

    /// The thread name the kernel keeps (at most 15 bytes).
    static func kernelName(for name: String) -> String {
        let short = name.hasPrefix("heartbeat-") ? "hb-" + name.dropFirst("heartbeat-".count) : name
        return String(decoding: Array(short.utf8.prefix(15)), as: UTF8.self)
    }

    /// Gives the calling thread its kernel name, through /proc/thread-self/comm (Swift's Glibc
    /// module does not show `pthread_setname_np`); best effort — a name is only a label.
    private static func nameCurrentThread(_ name: String) {
        #if canImport(Glibc)
        let file = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard file >= 0 else { return }
        _ = name.utf8CString.withUnsafeBufferPointer { write(file, $0.baseAddress, $0.count - 1) }
        close(file)
        #endif
    }

    /// Asks the loop to stop and waits until it has returned. Does nothing if it never started or
    /// already stopped.
    public func stop() {
        guard running else { return }
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
        running = false
    }
}
