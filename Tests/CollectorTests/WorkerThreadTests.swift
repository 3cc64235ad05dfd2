@testable import Collector
import Foundation
import Synchronization
import Testing

/// The collector's named threads: what the kernel calls them, and stopping them.
@Suite("Worker thread")
struct WorkerThreadTests {
    @Test("kernel names drop the heartbeat- prefix for hb- and fit in 15 bytes")
    func kernelNames() {
        #expect(WorkerThread.kernelName(for: "heartbeat-receiver") == "hb-receiver")
        #expect(WorkerThread.kernelName(for: "heartbeat-last-heartbeat") == "hb-last-heartbe")
        #expect(WorkerThread.kernelName(for: "other") == "other")
    }

    @Test("the running thread carries its kernel name, and stop waits for the loop to return")
    func namedAndStopped() {
        let worker = WorkerThread()
        let seenName = Mutex<String?>(nil)
        let loops = Mutex(0)
        worker.start(name: "heartbeat-drain") {
            let name = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            seenName.withLock { $0 = name?.trimmingCharacters(in: .newlines) }
            while !worker.isStopRequested {
                loops.withLock { $0 += 1 }
                usleep(1_000)
            }
        }
        worker.stop()
        let loopsAtStop = loops.withLock { $0 }
        usleep(20_000)
        #expect(seenName.withLock { $0 } == "hb-drain")
        // After stop() returned, the loop has ended: nothing counts any more.
        #expect(loops.withLock { $0 } == loopsAtStop)
    }
}
