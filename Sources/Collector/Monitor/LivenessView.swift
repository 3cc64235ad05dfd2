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
        /// Since when it has been in that status (Unix µs; `Int64.min` while it never changed).
        public var sinceMicros: Int64
        /// Its latest arrival at any collector this one hears from (Unix µs; `Int64.min` before any).
        public var lastArrivalMicros: Int64
        /// When it goes late, down or times out if nothing arrives (nil: no deadline — new, paused, down).
        public var nextDeadlineMicros: Int64?
        /// Its latest closed run, as this collector saw it.
        public var lastRun: LivenessMachine.ClosedRun?

        public init(status: LivenessStatus, sinceMicros: Int64, lastArrivalMicros: Int64, nextDeadlineMicros: Int64?, lastRun: LivenessMachine.ClosedRun?) {
            self.status = status
            self.sinceMicros = sinceMicros
            self.lastArrivalMicros = lastArrivalMicros
            self.nextDeadlineMicros = nextDeadlineMicros
            self.lastRun = lastRun
        }
    }

    public let source: Source
    /// The monitor's role when it was taken (nil without a monitor).
    public let role: MonitorRole?
    /// When it was taken (Unix µs; 0 before the first tick).
    public let takenAtMicros: Int64
    /// Which tick published it (1 for the first; 0 for the empty view before any).
    public let sequence: UInt64
    private let entries: [Entry]

    public init(source: Source, role: MonitorRole?, takenAtMicros: Int64, sequence: UInt64, entries: [Entry]) {
        self.source = source
        self.role = role
        self.takenAtMicros = takenAtMicros
        self.sequence = sequence
        self.entries = entries
    }

    /// Application ids the view covers (0 up to this).
    public var count: Int { entries.count }

    /// Application `id`'s state; nil for an id the board did not hold yet.
    public subscript(id: Int) -> Entry? {
        id >= 0 && id < entries.count ? entries[id] : nil
    }
}

/// The view in force, swapped whole by the monitor after a tick.
public typealias LivenessViewHolder = AtomicHolder<LivenessView>

extension AtomicHolder where Value == LivenessView {
    /// The latest view published.
    public var view: LivenessView { value }
}
