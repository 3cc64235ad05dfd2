import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The single thread between the receivers' rings and the writers: it takes rows from every ring,
/// refuses replays (``ReplayGuard``), and packs the rest into COPY batches that close at
/// `batchRows` rows or `batchAge`, whichever comes first, so idle latency stays low and heavy
/// load gets big batches.
final class IngestDrain: @unchecked Sendable {
    private let rings: [RowRing]
    private let pool: BatchWriterPool
    private let metrics: StorageMetrics
    private let batchRows: Int
    private let batchAgeNanos: UInt64
    private var replayGuard: ReplayGuard
    private let stopRequested = ManagedAtomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false

    init(rings: [RowRing], pool: BatchWriterPool, metrics: StorageMetrics, batchRows: Int, batchAgeMillis: Int, replayIdleSeconds: Int) {
        self.rings = rings
        self.pool = pool
        self.metrics = metrics
        self.batchRows = batchRows
        self.batchAgeNanos = UInt64(batchAgeMillis) * 1_000_000
        self.replayGuard = ReplayGuard(idleLimitMicros: Int64(replayIdleSeconds) * 1_000_000)
    }

    func start() {
        started = true
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "heartbeat-drain"
        thread.start()
    }

    /// Once the receivers have stopped: takes what is left in the rings, hands the last batch to
    /// the writers, and returns when the drain thread has ended.
    func stopAfterDraining() {
        guard started else { return }
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
        started = false
    }

    private func run() {
        let scratchSize = 4_096
        let scratch = UnsafeMutablePointer<HeartbeatRow>.allocate(capacity: scratchSize)
        defer { scratch.deallocate() }
        var batch = pool.emptyBatch()
        var accepted: UInt64 = 0
        var replays: UInt64 = 0
        var lastEviction = DispatchTime.now().uptimeNanoseconds
        while true {
            // Read the flag before the rings: once it is seen set, the receivers have stopped, so
            // rings found empty after it stay empty.
            let stopping = stopRequested.load(ordering: .acquiring)
            var moved = 0
            for ring in rings {
                let count = ring.pop(into: scratch, maximum: scratchSize)
                moved += count
                let now = DispatchTime.now().uptimeNanoseconds
                for index in 0..<count {
                    let row = scratch[index]
                    if replayGuard.admit(row) {
                        batch.append(row, nowNanos: now)
                        accepted &+= 1
                        if batch.rows >= batchRows {
                            pool.submit(batch)
                            batch = pool.emptyBatch()
                        }
                    } else {
                        replays &+= 1
                    }
                }
            }
            metrics.recordsAccepted.store(accepted, ordering: .relaxed)
            metrics.recordsReplayRejected.store(replays, ordering: .relaxed)
            let now = DispatchTime.now().uptimeNanoseconds
            if batch.rows > 0, now &- batch.openedAtNanos >= batchAgeNanos {
                pool.submit(batch)
                batch = pool.emptyBatch()
            }
            if now &- lastEviction >= 60_000_000_000 {
                replayGuard.evictIdle(nowMicros: DatagramReceiver.nowMicros())
                lastEviction = now
            }
            if moved == 0 {
                if stopping { break }
                usleep(200)
            }
        }
        if batch.rows > 0 { pool.submit(batch) }
    }
}
