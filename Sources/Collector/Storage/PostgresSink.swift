/// The PostgreSQL sink: rows packed into COPY batches that close at `batchRows` rows or
/// `batchAge`, whichever comes first (idle latency stays low, heavy load gets big batches), handed
/// to the ``BatchWriterPool`` — which stores them, spools what PostgreSQL cannot take, and replays
/// the spool.
final class PostgresSink: BatchSink, @unchecked Sendable {
    let serviceName = "PostgreSQL writers"
    let pool: BatchWriterPool
    private let batchRows: Int
    private let batchAgeNanos: UInt64
    /// The batch being filled (drain thread only).
    private var batch: CopyBatch

    init(pool: BatchWriterPool, batchRows: Int, batchAgeMillis: Int) {
        self.pool = pool
        self.batchRows = batchRows
        self.batchAgeNanos = UInt64(batchAgeMillis) * 1_000_000
        batch = pool.emptyBatch()
    }

    func start() { pool.start() }

    /// Stores (or spools) every batch handed over, held ones included; after the drain's stop.
    func stop() { pool.stop() }

    func take(_ row: HeartbeatRow, nowNanos: UInt64) {
        batch.append(row, nowNanos: nowNanos)
        if batch.rows >= batchRows {
            pool.submit(batch)
            batch = pool.emptyBatch()
        }
    }

    func pass(nowNanos: UInt64) {
        if batch.rows > 0, nowNanos &- batch.openedAtNanos >= batchAgeNanos {
            pool.submit(batch)
            batch = pool.emptyBatch()
        }
        pool.pump()
    }

    func flush() {
        if batch.rows > 0 { pool.submit(batch) }
        batch = pool.emptyBatch()
    }

    func isStalled(nowMicros: Int64) -> Bool { pool.isStalled(nowMicros: nowMicros) }

    func describe(into storage: inout CollectorSnapshot.Storage) {
        storage.sink = "postgres"
        storage.deadLetterRowsUnwritten = pool.deadLetters.unwrittenRows.load(ordering: .relaxed)
        storage.writerQueueBatches = pool.queueDepth
    }
}
