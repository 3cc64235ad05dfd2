/// Stores one binary COPY body of heartbeat rows on one connection, so that no row can block the
/// rows behind it: a body PostgreSQL refuses for its data is bisected (``CopyBisection``), the good
/// rows are stored, the bad ones go to the ``DeadLetterFile``; a missing partition is created and
/// the COPY retried; only an unavailable database leaves rows to spool (``CopyFailure``).
struct BatchStorer {
    let connection: PostgresConnection
    let partitions: PartitionMaintainer
    let deadLetters: DeadLetterFile

    /// What became of a body's rows.
    enum Outcome: Equatable {
        /// Every row is stored or dead-lettered.
        case settled(stored: Int, deadLettered: Int)
        /// The database became unavailable: `stored` and `deadLettered` rows are done, `remaining`
        /// (a complete body of `remainingRows` rows; `nil`: the whole body, untouched) must be spooled.
        case unavailable(stored: Int, deadLettered: Int, remaining: [UInt8]?, remainingRows: Int)
        /// PostgreSQL refused the body for its data and it is not a body of whole heartbeat rows, so
        /// it cannot be split (a foreign spool file).
        case unreadable
    }

    /// How many distinct days of partitions one missing-partition failure may create: rows come
    /// from the collector's clock, so a batch spans a day or two; more means rows no partition should hold.
    static let maximumPartitionDays = 31

    /// Stores `body` (`rows` rows; `source` names where it came from in dead-letter lines). While
    /// a refused body is bisected, `checkpoint` (if given) receives a complete body of the rows
    /// still neither stored nor dead-lettered after each step, so a spool file can be rewritten to
    /// hold only those: a crash in the middle then replays none of the rows already committed.
    func store(
        _ body: UnsafeRawBufferPointer, rows: Int, source: String, checkpoint: ((_ remaining: [UInt8], _ rows: Int) -> Void)? = nil
    ) -> Outcome {
        let first: PostgresError
        do throws(PostgresError) {
            try connection.copyIn(BinaryCopyEncoder.copyStatement, data: body)
            return .settled(stored: rows, deadLettered: 0)
        } catch {
            first = error
        }
        let failure = CopyFailure(first)
        guard failure != .unavailable else { return .unavailable(stored: 0, deadLettered: 0, remaining: nil, remainingRows: rows) }
        guard let view = CopyBody(body), view.rowCount > 0 else { return .unreadable }
        var plan = CopyBisection(rows: view.rowCount, failure: failure)
        var scratch = [UInt8]()
        var settledRows = 0
        /// Hands the checkpoint what is left, when a step stored or isolated rows.
        func reportProgress() {
            guard let checkpoint, plan.storedRows + plan.badRows.count > settledRows else { return }
            settledRows = plan.storedRows + plan.badRows.count
            var left = [UInt8]()
            let remaining = plan.remaining
            view.body(of: remaining, into: &left)
            checkpoint(left, remaining.reduce(0) { $0 + $1.count })
        }
        /// Records a failure, writing any row it isolated to the dead-letter file with its error.
        func refused(_ error: PostgresError) {
            let isolated = plan.badRows.count
            plan.record(.failed(CopyFailure(error)))
            if plan.badRows.count > isolated {
                deadLetters.append(Array(plan.badRows[isolated...]), of: view, error: error, source: source, nowMicros: WallClock.nowMicros())
            }
        }
        while let action = plan.next() {
            switch action {
            case .copy(let range):
                view.body(of: [range], into: &scratch)
                do throws(PostgresError) {
                    _ = try scratch.withUnsafeBytes { bytes in
                        Result { () throws(PostgresError) in try connection.copyIn(BinaryCopyEncoder.copyStatement, data: bytes) }
                    }.get()
                    plan.record(.stored)
                } catch {
                    refused(error)
                }
                reportProgress()
            case .createPartitions(let range):
                do throws(PostgresError) {
                    try partitions.createPartitions(days: view.receivedDays(in: range, limit: Self.maximumPartitionDays), on: connection)
                    plan.record(.partitionsCreated)
                } catch {
                    refused(error)
                }
            }
        }
        guard plan.interrupted else { return .settled(stored: plan.storedRows, deadLettered: plan.badRows.count) }
        let remaining = plan.remaining
        view.body(of: remaining, into: &scratch)
        return .unavailable(
            stored: plan.storedRows, deadLettered: plan.badRows.count, remaining: scratch,
            remainingRows: remaining.reduce(0) { $0 + $1.count })
    }
}
