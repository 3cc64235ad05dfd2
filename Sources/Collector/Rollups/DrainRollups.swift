/// The drain's side of rollups, kept on the drain's thread: the table it counts into, and when it
/// hands that table to the ``RollupWriter`` (each period, at the period's start — with a minute's
/// period every collector hands over at the same moments). Rows are counted by the drain's loop
/// itself (``RollupTable/count(_:)`` on ``table``); this is what happens between passes.
struct DrainRollups {
    let writer: RollupWriter
    /// The table rows are counted into now.
    private(set) var table: RollupTable
    private let periodMicros: Int64
    private var nextHandOverMicros: Int64

    init(writer: RollupWriter, periodSeconds: Int, nowMicros: Int64) {
        self.writer = writer
        table = writer.firstTable()
        periodMicros = Int64(periodSeconds) * 1_000_000
        nextHandOverMicros = Self.nextHandOver(afterMicros: nowMicros, periodMicros: periodMicros)
    }

    /// After a pass: publishes the counts, and hands the table over when it is time. A table the
    /// writer cannot take yet (it still holds the other one: PostgreSQL failing) stays, and is
    /// offered again after the next pass.
    mutating func pass(counted: UInt64, uncounted: UInt64, nowMicros: Int64) {
        writer.metrics.recordsCounted.store(counted, ordering: .relaxed)
        writer.metrics.recordsUncounted.store(uncounted, ordering: .relaxed)
        guard nowMicros >= nextHandOverMicros else { return }
        let next = writer.exchange(table)
        guard next !== table || table.count == 0 else { return }
        table = next
        nextHandOverMicros = Self.nextHandOver(afterMicros: nowMicros, periodMicros: periodMicros)
    }

    /// The drain is stopping: the last table goes to the writer, whatever it holds.
    func finish(counted: UInt64, uncounted: UInt64) {
        writer.metrics.recordsCounted.store(counted, ordering: .relaxed)
        writer.metrics.recordsUncounted.store(uncounted, ordering: .relaxed)
        writer.handOverLast(table)
    }

    /// The next hand-over after `micros`: the next multiple of the period.
    static func nextHandOver(afterMicros micros: Int64, periodMicros: Int64) -> Int64 {
        (micros / periodMicros + 1) * periodMicros
    }
}
