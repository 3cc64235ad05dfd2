import Atomics

/// What a collector knows of every application's liveness at one moment, for readers on any thread
/// (the status API, the status page): immutable, published whole after each monitor tick by an
/// atomic swap, so a reader never locks, never blocks the monitor and never sees half a tick.
public final class LivenessView: AtomicReference, Sendable {
    /// Where the view comes from.
    public enum Source: String, Sendable {
        /// This collector's monitor board (leader, follower, alone or degraded).
        case monitor
        /// `--no-monitor`: no board; only arrivals (the last-seen table) are known here.
        case lastSeenOnly = "last_seen_only"
    }

    /// One application's state.
    public struct Entry: Equatable, Sendable {
        public var status: LivenessStatus
        /// Since when it has been in that status (Unix µs; `Int64.min` while it never changed): the
        /// transition this board made, or the stored one's time; a status adopted after start on a
        /// registry reload (an operator's pause) counts from when the board adopted it.
        public var sinceMicros: Int64
        /// Its latest arrival at any collector this one hears from (Unix µs; 0 before any: the last-seen table's value for an application never heard from).
        public var lastArrivalMicros: Int64
        /// When it goes late, down or times out if nothing arrives (nil: no deadline — new, paused, down).
        public var nextDeadlineMicros: Int64?
        /// Its latest closed run, as this collector saw it.
        public var lastRun: LivenessMachine.ClosedRun?
        /// Under an instance quorum: how many instances count, and how many are needed.
        public var instances: InstanceCount?

        public init(
            status: LivenessStatus, sinceMicros: Int64, lastArrivalMicros: Int64, nextDeadlineMicros: Int64?, lastRun: LivenessMachine.ClosedRun?,
            instances: InstanceCount? = nil
        ) {
            self.instances = instances
            self.status = status
            self.sinceMicros = sinceMicros
            self.lastArrivalMicros = lastArrivalMicros
            self.nextDeadlineMicros = nextDeadlineMicros
            self.lastRun = lastRun
        }
    }

    /// The instances of an application under a quorum, as the board counted them when the view
    /// was taken.
    public struct InstanceCount: Equatable, Sendable {
        public let counted: Int
        public let needed: Int
        public init(counted: Int, needed: Int) {
            self.counted = counted
            self.needed = needed
        }
    }

    /// Every application's state, column by column (no padding between fields, so a million
    /// applications cost 41 MB), indexed by application id.
    public struct Columns: Sendable {
        var statuses: [LivenessStatus] = []
        var since: [Int64] = []
        var lastArrival: [Int64] = []
        /// `Int64.max`: no deadline.
        var nextDeadline: [Int64] = []
        /// `Int64.min` ended: no run closed yet.
        var runDuration: [Int64] = []
        var runEnded: [Int64] = []
        /// Only the applications under a quorum (few).
        var instances: [Int: InstanceCount] = [:]

        public init() {}

        /// Columns of equal length, indexed by application id.
        init(
            statuses: [LivenessStatus], since: [Int64], lastArrival: [Int64], nextDeadline: [Int64], runDuration: [Int64], runEnded: [Int64],
            instances: [Int: InstanceCount] = [:]
        ) {
            self.instances = instances
            precondition([since.count, lastArrival.count, nextDeadline.count, runDuration.count, runEnded.count].allSatisfy { $0 == statuses.count })
            self.statuses = statuses
            self.since = since
            self.lastArrival = lastArrival
            self.nextDeadline = nextDeadline
            self.runDuration = runDuration
            self.runEnded = runEnded
        }

        var count: Int { statuses.count }
    }

    public let source: Source
    /// The monitor's role when it was taken (nil without a monitor).
    public let role: MonitorRole?
    /// When it was taken (Unix µs; 0 before the first tick).
    public let takenAtMicros: Int64
    /// Which tick published it (1 for the first; 0 for the empty view before any).
    public let sequence: UInt64
    /// The registry version whose stored statuses and policies the board had loaded (-1: none yet):
    /// a registry write is visible to readers once a view carries its version.
    public let registryVersion: Int64
    private let columns: Columns
    /// Entries newer than ``columns`` (applications whose status changed since the columns were
    /// built): a very large board rebuilds its columns only now and then, but a transition is
    /// published at once this way, before it is recorded.
    private let overrides: [Int: Entry]

    public init(
        source: Source, role: MonitorRole?, takenAtMicros: Int64, sequence: UInt64, registryVersion: Int64 = -1, columns: Columns = Columns()
    ) {
        self.source = source
        self.role = role
        self.takenAtMicros = takenAtMicros
        self.sequence = sequence
        self.registryVersion = registryVersion
        self.columns = columns
        self.overrides = [:]
    }

    /// `base` with `entries` replacing (or adding) those applications' states, taken at `takenAtMicros`.
    public init(_ base: LivenessView, overriding entries: [Int: Entry], role: MonitorRole?, takenAtMicros: Int64, sequence: UInt64) {
        source = base.source
        self.role = role
        self.takenAtMicros = takenAtMicros
        self.sequence = sequence
        registryVersion = base.registryVersion
        columns = base.columns
        overrides = base.overrides.merging(entries) { _, new in new }
    }

    /// A board's next deadline as readers see it: `Int64.max` is none, and `Int64.min` (judged at
    /// the next sweep) has no time to show either.
    static func deadline(_ micros: Int64) -> Int64? {
        micros == .max || micros == .min ? nil : micros
    }

    /// Application ids the view covers (0 up to this).
    public var count: Int { max(columns.count, (overrides.keys.max() ?? -1) + 1) }

    /// How many entries sit on top of the columns (a full rebuild makes it 0).
    public var overrideCount: Int { overrides.count }

    /// Application `id`'s state; nil for an id the board did not hold yet.
    public subscript(id: Int) -> Entry? {
        if !overrides.isEmpty, let entry = overrides[id] { return entry }
        guard id >= 0, id < columns.count else { return nil }
        let ended = columns.runEnded[id]
        return Entry(
            status: columns.statuses[id], sinceMicros: columns.since[id], lastArrivalMicros: columns.lastArrival[id],
            nextDeadlineMicros: Self.deadline(columns.nextDeadline[id]),
            lastRun: ended == .min ? nil : LivenessMachine.ClosedRun(durationMicros: columns.runDuration[id], endedMicros: ended),
            instances: columns.instances.isEmpty ? nil : columns.instances[id])
    }
}

/// The view in force, swapped whole by the monitor after a tick.
public typealias LivenessViewHolder = AtomicHolder<LivenessView>

extension AtomicHolder where Value == LivenessView {
    /// The latest view published.
    public var view: LivenessView { value }
}
