import Atomics
import CThread
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small pool of writer threads, each with its own libpq connection, that store batches with
/// binary COPY through a ``BatchStorer``: a batch PostgreSQL refuses for its data is bisected, its
/// good rows stored and its bad rows dead-lettered, so no row can block the queue. A batch that
/// cannot be stored because PostgreSQL is unavailable goes to the ``Spool``; while the spool holds
/// batches and PostgreSQL answers, they are replayed oldest first, the same way.
///
/// ``submit(_:)`` never waits: liveness (last-seen, the monitor) runs on the drain's thread, and
/// storage is best-effort under saturation. The queue between the drain and the writers is
/// bounded; when every writer is busy and the queue is full (PostgreSQL slower than the input, or
/// stalled — a checkpoint, a vacuum, a lock), the drain *holds* the batch (up to ``maximumHeld``,
/// for at most ``holdNanos``) and offers it again on every pass (``pump()``), so a hiccup of
/// PostgreSQL costs neither disk nor CPU; a batch held that long, or pushed out by newer ones,
/// goes to the spill thread's own bounded queue, which writes it to the spool, to be replayed once
/// the writers catch up: a stall costs disk, not records. When that queue is full too, the batch's rows are dropped for storage and
/// counted as `storage_busy` (their arrivals have already reached liveness); when the spool is
/// full, as `spool_full`.
final class BatchWriterPool: @unchecked Sendable {
    let metrics: StorageMetrics
    let spool: Spool
    let deadLetters: DeadLetterFile
    let partitions: PartitionMaintainer
    /// Writers in the middle of storing or replaying (for the stall watchdog).
    private let busyWriters = ManagedAtomic<Int>(0)
    /// Unix µs when the writers last had nothing waiting (or the pool started).
    private let lastIdleMicros = ManagedAtomic<Int64>(WallClock.nowMicros())
    private let databaseURL: String
    private let expectedRows: Int
    private let lock = NSLock()
    private var queue: [CopyBatch] = []
    private var free: [CopyBatch] = []
    private var stopping = false
    private let queued = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore
    private let replayLock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    private let writerCount: Int

    init(
        databaseURL: String, connections: Int, queueDepth: Int, expectedRows: Int, spool: Spool, metrics: StorageMetrics,
        partitions: PartitionMaintainer = PartitionMaintainer(), stallLimitMillis: Int = 30_000
    ) {
        precondition(connections >= 1 && queueDepth >= 1)
        self.stallLimitMicros = Int64(stallLimitMillis) * 1_000
        self.deadLetters = DeadLetterFile(directory: spool.directory)
        self.partitions = partitions
        self.databaseURL = databaseURL
        self.expectedRows = expectedRows
        self.spool = spool
        self.metrics = metrics
        self.writerCount = connections
        self.slots = DispatchSemaphore(value: queueDepth)
        // Every batch that can exist at once — one filling, `queueDepth` queued, one per writer,
        // `maximumHeld` held by the drain, `spillDepth` waiting for the spill thread and one in
        // its hands — is allocated and
        // touched now, so memory is reserved at start and does not creep up the first time
        // PostgreSQL stalls under load; and ``emptyBatch()`` always finds one.
        self.free = (0..<(queueDepth + connections + Self.maximumHeld + Self.spillDepth + 2)).map { _ in
            let batch = CopyBatch(expectedRows: expectedRows)
            batch.encoder.prefault()
            return batch
        }
    }

    /// Starts the writer threads and the spill thread.
    func start() {
        for index in 0..<writerCount {
            let thread = Thread { [self] in
                var writer = Writer(pool: self, url: databaseURL)
                writer.run()
                finished.signal()
            }
            thread.name = "heartbeat-writer-\(index)"
            thread.start()
        }
        let spiller = Thread { [self] in
            runSpill()
            finished.signal()
        }
        spiller.name = "heartbeat-spill"
        spiller.start()
    }

    /// An empty batch to fill (recycled when possible).
    func emptyBatch() -> CopyBatch {
        lock.withLock { free.popLast() } ?? CopyBatch(expectedRows: expectedRows)
    }

    /// Batches that may wait for the spill thread.
    static let spillDepth = 4
    private var spillQueue: [CopyBatch] = []
    private let spillQueued = DispatchSemaphore(value: 0)

    /// How long the drain holds a batch the writers have no room for before it spills it.
    static let holdNanos: UInt64 = 500_000_000
    /// Batches the drain holds at most (older ones spill first).
    static let maximumHeld = 4
    /// Batches the writers had no room for yet, oldest first, with when they were first offered.
    /// Drain thread only.
    @exclusivity(unchecked) private var held: [(batch: CopyBatch, sinceNanos: UInt64)] = []

    /// Hands a filled batch to a writer, or holds it while the writers' queue is full (see the
    /// type's comment). Never waits. The drain is the only caller.
    func submit(_ batch: CopyBatch) {
        pump()
        if held.isEmpty, slots.wait(timeout: .now()) == .success {
            enqueue(batch)
            return
        }
        held.append((batch, DispatchTime.now().uptimeNanoseconds))
        if held.count > Self.maximumHeld { spill(held.removeFirst().batch) }
    }

    /// Offers the held batches to the writers as room frees up, oldest first, and spills those
    /// held for ``holdNanos``. Never waits. The drain calls it on every pass.
    func pump() {
        let now = DispatchTime.now().uptimeNanoseconds
        while let oldest = held.first {
            if slots.wait(timeout: .now()) == .success {
                held.removeFirst()
                enqueue(oldest.batch)
            } else if now &- oldest.sinceNanos >= Self.holdNanos {
                held.removeFirst()
                spill(oldest.batch)
            } else {
                return
            }
        }
    }

    /// At shutdown, once the drain has stopped: queues every held batch, waiting for room (the
    /// writers store or spool them before they end).
    func flushHeld() {
        for (batch, _) in held {
            slots.wait()
            enqueue(batch)
        }
        held.removeAll()
    }

    private func enqueue(_ batch: CopyBatch) {
        lock.withLock { queue.append(batch) }
        queued.signal()
    }

    /// Hands `batch` to the spill thread, or — when its queue is full too — drops its rows for
    /// storage (counted as `storage_busy`) and recycles it.
    private func spill(_ batch: CopyBatch) {
        let spilled = lock.withLock { () -> Bool in
            guard spillQueue.count < Self.spillDepth else { return false }
            spillQueue.append(batch)
            return true
        }
        if spilled {
            metrics.batchesSpilledOnStall.wrappingIncrement(ordering: .relaxed)
            spillQueued.signal()
            return
        }
        metrics.rowsDroppedStorageBusy.wrappingIncrement(by: UInt64(batch.rows), ordering: .relaxed)
        recycle(batch)
    }

    /// The spill thread: writes the batches the writers had no room for to the spool, until
    /// shutdown finds its queue empty.
    private func runSpill() {
        // Spilling is storage's overflow, never more urgent than receiving and liveness: when the
        // CPU is short (PostgreSQL, the receivers and this thread share it), this thread waits.
        _ = hb_set_thread_niceness(10)
        while true {
            _ = spillQueued.wait(timeout: .now() + 1)
            let (batch, stop) = lock.withLock { () -> (CopyBatch?, Bool) in
                spillQueue.isEmpty ? (nil, stopping) : (spillQueue.removeFirst(), false)
            }
            if let batch {
                spool(batch)
                recycle(batch)
            } else if stop {
                return
            }
        }
    }

    /// Writes `batch` to the spool, counting its rows as spooled, or as dropped when the spool is
    /// full or the disk refuses.
    fileprivate func spool(_ batch: CopyBatch) {
        let rows = batch.rows  // read before finish(), which holds the encoder exclusively
        batch.encoder.finish { body in spool(body: body, rows: rows) }
    }

    /// Writes a COPY body of `rows` rows to the spool, counted as for ``spool(_:)``.
    fileprivate func spool(body: UnsafeRawBufferPointer, rows: Int) {
        do throws(Spool.SpoolError) {
            let stored = try spool.append(body: body, rows: rows)
            (stored ? metrics.rowsSpooled : metrics.rowsDroppedSpoolFull).wrappingIncrement(by: UInt64(rows), ordering: .relaxed)
        } catch {
            // The disk refused the write (full file system, I/O error): a reason of its own.
            metrics.rowsDroppedSpoolError.wrappingIncrement(by: UInt64(rows), ordering: .relaxed)
        }
    }

    /// How long rows may wait with no commit before storage counts as stalled.
    let stallLimitMicros: Int64

    /// Whether rows have waited ``stallLimitMicros`` with no commit in that time (a batch queued, in
    /// a writer's hands or in the spool): `/readyz` then reports storage as not ready.
    func isStalled(nowMicros: Int64) -> Bool {
        let progress = max(metrics.lastCommitMicros.load(ordering: .relaxed), lastIdleMicros.load(ordering: .relaxed))
        return nowMicros - progress > stallLimitMicros
    }

    /// Notes that nothing waits for storage right now, if so.
    fileprivate func noteIdleIfNothingWaits() {
        guard busyWriters.load(ordering: .relaxed) == 0, queueDepth == 0, lock.withLock({ spillQueue.isEmpty }), spool.pending.isEmpty else { return }
        lastIdleMicros.store(WallClock.nowMicros(), ordering: .relaxed)
    }

    fileprivate func beginWork() { busyWriters.wrappingIncrement(ordering: .relaxed) }
    fileprivate func endWork() {
        busyWriters.wrappingDecrement(ordering: .relaxed)
        noteIdleIfNothingWaits()
    }

    /// Batches queued and not yet taken by a writer.
    var queueDepth: Int { lock.withLock { queue.count } }

    /// Lets the writers and the spill thread finish every queued batch (storing or spooling it),
    /// then ends them.
    func stop() {
        flushHeld()
        lock.withLock { stopping = true }
        for _ in 0..<writerCount { queued.signal() }
        spillQueued.signal()
        for _ in 0...writerCount { finished.wait() }
    }

    fileprivate func next(timeoutSeconds: Double) -> (batch: CopyBatch?, stop: Bool) {
        _ = queued.wait(timeout: .now() + timeoutSeconds)
        return lock.withLock {
            if !queue.isEmpty {
                let batch = queue.removeFirst()
                slots.signal()
                return (batch, false)
            }
            return (nil, stopping)
        }
    }

    fileprivate func recycle(_ batch: CopyBatch) {
        batch.reset()
        lock.withLock { free.append(batch) }
    }

    /// Replays spooled batches while the connection takes them; one writer at a time, in order.
    /// A file refused for its data is bisected like a batch; a file whose rows cannot be read is
    /// quarantined. Returns false when PostgreSQL became unavailable (the rest stays spooled).
    fileprivate func replaySpool(on connection: PostgresConnection) -> Bool {
        guard replayLock.try() else { return true }
        defer { replayLock.unlock() }
        let storer = BatchStorer(connection: connection, partitions: partitions, deadLetters: deadLetters)
        // Each body is read whole (megabytes): such buffers get mappings of their own (see
        // HeartbeatCollector's hb_map_large_allocations), so they go back to the system when freed.
        for entry in spool.pending {
            let body: [UInt8]
            do throws(Spool.SpoolError) {
                body = try spool.body(of: entry)
            } catch {
                spool.quarantine(entry)
                metrics.rowsDroppedSpoolCorrupt.wrappingIncrement(by: UInt64(entry.rows), ordering: .relaxed)
                continue
            }
            // While a refused file is bisected, it is rewritten after each step to hold only the rows
            // still to store: what was committed is never replayed again, not even after a crash.
            var current = entry
            var rewriteFailed = false
            let outcome = body.withUnsafeBytes { bytes in
                storer.store(bytes, rows: entry.rows, source: "spool") { remaining, rows in
                    guard !rewriteFailed else { return }
                    do throws(Spool.SpoolError) {
                        current = try remaining.withUnsafeBytes { bytes in
                            Result { () throws(Spool.SpoolError) in try self.spool.replace(current, body: bytes, rows: rows) }
                        }.get()
                    } catch {
                        rewriteFailed = true  // the file keeps its last good state; the outcome below settles it
                    }
                }
            }
            switch outcome {
            case .settled(let stored, let deadLettered):
                spool.remove(current)
                count(replayed: stored, deadLettered: deadLettered)
            case .unavailable(let stored, let deadLettered, let remaining, let remainingRows):
                count(replayed: stored, deadLettered: deadLettered)
                if let remaining {
                    do throws(Spool.SpoolError) {
                        try remaining.withUnsafeBytes { bytes in
                            Result { () throws(Spool.SpoolError) in try spool.replace(current, body: bytes, rows: remainingRows) }
                        }.get()
                    } catch {
                        // The file cannot be brought up to date, and replaying it whole would store
                        // rows twice: it is set aside and its rows counted as lost to the disk error.
                        spool.quarantine(current)
                        metrics.rowsDroppedSpoolError.wrappingIncrement(by: UInt64(remainingRows), ordering: .relaxed)
                    }
                }
                return false
            case .unreadable:
                spool.quarantine(current)
                metrics.rowsDroppedSpoolCorrupt.wrappingIncrement(by: UInt64(current.rows), ordering: .relaxed)
            }
        }
        return true
    }

    private func count(replayed: Int, deadLettered: Int) {
        if replayed > 0 {
            metrics.rowsReplayed.wrappingIncrement(by: UInt64(replayed), ordering: .relaxed)
            metrics.lastCommitMicros.store(WallClock.nowMicros(), ordering: .relaxed)
        }
        metrics.rowsDeadLetteredFromSpool.wrappingIncrement(by: UInt64(deadLettered), ordering: .relaxed)
    }
}

/// One writer thread's loop: take a batch, store it (or spool it), keep the connection alive.
private struct Writer {
    let pool: BatchWriterPool
    let url: String
    var connection: PostgresConnection?
    var nextConnectAttemptNanos: UInt64 = 0

    init(pool: BatchWriterPool, url: String) {
        self.pool = pool
        self.url = url
    }

    mutating func run() {
        while true {
            let (batch, stop) = pool.next(timeoutSeconds: 1)
            if let batch {
                pool.beginWork()
                store(batch)
                pool.recycle(batch)
                pool.endWork()
            } else if stop {
                return
            } else if !pool.spool.pending.isEmpty, let connection = connected() {
                pool.beginWork()
                if !pool.replaySpool(on: connection) { self.connection = nil }
                pool.endWork()
            } else {
                pool.noteIdleIfNothingWaits()
            }
        }
    }

    /// A live connection, reconnecting at most once a second.
    mutating func connected() -> PostgresConnection? {
        if let connection, connection.isConnected { return connection }
        connection = nil
        let now = DispatchTime.now().uptimeNanoseconds
        guard now >= nextConnectAttemptNanos else { return nil }
        nextConnectAttemptNanos = now + 1_000_000_000
        connection = try? PostgresConnection(url: url)
        return connection
    }

    mutating func store(_ batch: CopyBatch) {
        let rows = UInt64(batch.rows)
        guard rows > 0 else { return }
        if let connection = connected() {
            if !pool.spool.pending.isEmpty, !pool.replaySpool(on: connection) {
                self.connection = nil
            } else {
                let started = DispatchTime.now().uptimeNanoseconds
                let storer = BatchStorer(connection: connection, partitions: pool.partitions, deadLetters: pool.deadLetters)
                let outcome = batch.encoder.finish { body in storer.store(body, rows: Int(rows), source: "batch") }
                switch outcome {
                case .settled(let stored, let deadLettered):
                    let finishedAt = DispatchTime.now().uptimeNanoseconds
                    pool.metrics.flushSeconds.record(Double(finishedAt - started) / 1e9)
                    recordLatency(batch, rows: UInt64(stored))
                    count(stored: stored, deadLettered: deadLettered)
                    return
                case .unavailable(let stored, let deadLettered, let remaining, let remainingRows):
                    self.connection = nil
                    count(stored: stored, deadLettered: deadLettered)
                    if let remaining {
                        remaining.withUnsafeBytes { pool.spool(body: $0, rows: remainingRows) }
                        return
                    }
                case .unreadable:
                    // The encoder wrote this body, so its rows can always be read back.
                    assertionFailure("a batch's own body could not be split")
                }
            }
        }
        pool.spool(batch)
    }

    func count(stored: Int, deadLettered: Int) {
        if stored > 0 {
            pool.metrics.lastCommitMicros.store(WallClock.nowMicros(), ordering: .relaxed)
            pool.metrics.rowsStored.wrappingIncrement(by: UInt64(stored), ordering: .relaxed)
        }
        pool.metrics.rowsDeadLettered.wrappingIncrement(by: UInt64(deadLettered), ordering: .relaxed)
    }

    func recordLatency(_ batch: CopyBatch, rows: UInt64) {
        let now = WallClock.nowMicros()
        let newest = Double(now - batch.newestReceivedMicros) / 1e6
        let oldest = Double(now - batch.oldestReceivedMicros) / 1e6
        let parts: UInt64 = 8
        for part in 0..<parts {
            let share = rows / parts + (part < rows % parts ? 1 : 0)
            guard share > 0 else { continue }
            pool.metrics.commitLatencySeconds.record(newest + (oldest - newest) * (Double(part) + 0.5) / Double(parts), count: share)
        }
    }
}
