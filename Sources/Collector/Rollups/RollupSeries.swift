/// Records and loss per minute of one application, from its merged minute rollups (the detail
/// page's last 24 hours). Pure: the store reads the rows, this applies the loss rule of
/// ``RollupLoss`` to each minute as a window of its own, tested as a table.
public enum RollupSeries {
    /// One instance's merged figures of one minute (every collector's rows summed).
    public struct Row: Equatable, Sendable {
        public let instance: Int64
        /// Minutes since 1970-01-01 UTC.
        public let minute: Int64
        public let records: Int64
        /// Records that carried a sequence number (all but pings).
        public let sequenced: Int64
        public let seqMin: Int64?
        public let seqMax: Int64?

        public init(instance: Int64, minute: Int64, records: Int64, sequenced: Int64, seqMin: Int64?, seqMax: Int64?) {
            self.instance = instance
            self.minute = minute
            self.records = records
            self.sequenced = sequenced
            self.seqMin = seqMin
            self.seqMax = seqMax
        }
    }

    /// One minute's figures, summed over instances.
    public struct Minute: Equatable, Sendable {
        public var records: Int64 = 0
        public var lost: Int64 = 0
        public init(records: Int64 = 0, lost: Int64 = 0) {
            self.records = records
            self.lost = lost
        }
    }

    /// The figures of each minute of [fromMinute, toMinute), oldest first, from `rows` (any
    /// order; rows before `fromMinute` are the lookback: they only give each instance its
    /// highest number before the window). A minute's loss is the numbers after the highest seen
    /// in any earlier minute, up to its own highest, that did not arrive in it, as ``RollupLoss``
    /// counts a window: a record that arrives a minute after a higher number is lost in the
    /// earlier minute, so the minutes' losses can add up to more than one window spanning them.
    public static func perMinute(_ rows: [Row], fromMinute: Int64, toMinute: Int64) -> [Minute] {
        var minutes = [Minute](repeating: Minute(), count: Int(max(0, toMinute - fromMinute)))
        let byInstance = Dictionary(grouping: rows.filter { $0.minute < toMinute }, by: \.instance)
        for (_, instanceRows) in byInstance {
            var highest: Int64?
            for row in instanceRows.sorted(by: { $0.minute < $1.minute }) {
                if row.minute >= fromMinute {
                    let index = Int(row.minute - fromMinute)
                    minutes[index].records += row.records
                    minutes[index].lost += RollupLoss.instance(received: row.sequenced, windowMin: row.seqMin, windowMax: row.seqMax, highestBefore: highest).lost
                }
                if let seqMax = row.seqMax { highest = max(highest ?? seqMax, seqMax) }
            }
        }
        return minutes
    }
}
