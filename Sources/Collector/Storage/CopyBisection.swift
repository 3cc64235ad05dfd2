/// The plan for storing a batch that PostgreSQL refused for its data: COPY halves, and halves of
/// the halves that fail, until every row is either stored or isolated as bad on its own. Each COPY
/// is its own transaction, so the good parts commit as they go.
///
/// A pure state machine (no I/O): ``next()`` says what to do, ``record(_:)`` takes what happened.
/// A shell (``BatchStorer``) carries the actions out on a connection.
///
/// Cost: with `b` bad rows among `n`, at most about `2·b·log2(n)` COPYs, and never more than one
/// per row; a single bad row in 50,000 costs ~32 COPYs carrying about twice the batch's bytes.
/// Every COPY makes progress (a range is split or settled), so the plan always ends.
public struct CopyBisection: Sendable {
    /// What the shell should do next.
    public enum Action: Equatable, Sendable {
        /// COPY the rows in this range (indexes into the batch).
        case copy(Range<Int>)
        /// Create the partitions the rows of this range need, then answer with ``Outcome/partitionsCreated``.
        case createPartitions(Range<Int>)
    }

    /// What happened to the last action.
    public enum Outcome: Equatable, Sendable {
        /// The COPY committed.
        case stored
        /// The COPY failed with `failure` (``CopyFailure/unavailable`` ends the plan: see ``remaining``).
        case failed(CopyFailure)
        /// The partitions were created.
        case partitionsCreated
    }

    /// Rows committed so far.
    public private(set) var storedRows = 0
    /// Indexes of rows refused on their own, in batch order.
    public private(set) var badRows: [Int] = []
    /// Whether the database became unavailable: the plan stopped, and ``remaining`` holds the rows
    /// still to store (to be spooled).
    public private(set) var interrupted = false

    /// Ranges still to try, the next one last.
    private var pending: [Range<Int>]
    /// The action handed out and not yet answered.
    private var current: Action?
    /// Partitions are created at most once per plan: a row still without one afterwards lies
    /// where none can be made, which is its data's fault.
    private var createdPartitions = false

    /// A plan for a batch of `rows` rows whose first COPY failed with `failure` (``CopyFailure/badData``
    /// or ``CopyFailure/missingPartition``).
    public init(rows: Int, failure: CopyFailure) {
        precondition(rows > 0, "a failed batch has rows")
        precondition(failure != .unavailable, "an unavailable database is not bisected")
        pending = []
        if failure == .missingPartition {
            createdPartitions = true
            current = .createPartitions(0..<rows)
            pending = [0..<rows]
        } else {
            pending = Self.halves(of: 0..<rows)
        }
    }

    /// The next action, or `nil` when the plan is done (or interrupted).
    public mutating func next() -> Action? {
        if let current { return current }
        guard !interrupted, let range = pending.popLast() else { return nil }
        current = .copy(range)
        return current
    }

    /// Records the outcome of the action ``next()`` returned.
    public mutating func record(_ outcome: Outcome) {
        guard let action = current else { preconditionFailure("record(_:) without an action from next()") }
        current = nil
        switch (action, outcome) {
        case (.createPartitions, .partitionsCreated):
            break  // the range is still pending: it is copied next
        case (.createPartitions, .failed(.unavailable)):
            // The rows are untouched (the range is still pending): stop, and let them be spooled.
            interrupted = true
        case (.createPartitions(let range), .failed):
            // No partition can be made for these days (PostgreSQL refused the bounds): the rows'
            // own fault, isolated like bad data.
            pending.removeLast()
            split(range)
        case (.copy, .stored):
            if case .copy(let range) = action { storedRows += range.count }
        case (.copy(let range), .failed(.unavailable)):
            interrupted = true
            pending.append(range)
        case (.copy(let range), .failed(.missingPartition)) where !createdPartitions:
            createdPartitions = true
            pending.append(range)
            current = .createPartitions(range)
        case (.copy(let range), .failed):
            // Bad data (or a partition that cannot be made): isolate it.
            split(range)
        default:
            preconditionFailure("outcome \(outcome) does not answer \(action)")
        }
    }

    /// A refused range: a single row is bad; a longer one is tried again in halves.
    private mutating func split(_ range: Range<Int>) {
        if range.count == 1 {
            badRows.append(range.lowerBound)
        } else {
            pending.append(contentsOf: Self.halves(of: range))
        }
    }

    /// The rows not yet stored nor isolated, in batch order (after an interruption).
    public var remaining: [Range<Int>] {
        pending.reversed()
    }

    /// The two halves of `range`, the first to be tried last in the array (it is a stack).
    private static func halves(of range: Range<Int>) -> [Range<Int>] {
        let middle = range.lowerBound + range.count / 2
        return [middle..<range.upperBound, range.lowerBound..<middle]
    }
}
