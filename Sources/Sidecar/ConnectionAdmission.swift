/// Who may hold one of the sidecar's HTTP connections, decided as a value (tested as a table):
/// at most ``maximum`` connections serve every route; when they are all taken, the oldest idle one
/// is closed to make room; when none is idle (every one is in the middle of a request), the newcomer
/// gets one of ``reserve`` extra slots that answer only `/healthz` and `/readyz`, so an orchestrator
/// can still tell the process is alive; past those, the newcomer is closed at once.
struct ConnectionAdmission: Equatable, Sendable {
    let maximum: Int
    let reserve: Int

    /// One open connection as the decision sees it.
    struct Open: Equatable, Sendable {
        /// An identifier the shell can map back to its channel.
        let id: Int
        /// Whether a request is being read or answered on it.
        let busy: Bool
        /// When it was last active (any monotonic clock), for "oldest idle".
        let lastActiveNanos: UInt64
        /// Whether it holds a reserve slot.
        let reserved: Bool
    }

    /// What to do with a new connection.
    enum Decision: Equatable, Sendable {
        /// Serve it normally.
        case admit
        /// Close connection `id` (the oldest idle one), then serve the newcomer normally.
        case admitClosing(Int)
        /// Serve only health and readiness on it, then close it.
        case admitReserved
        /// Close it at once.
        case refuse
    }

    /// The decision for a connection arriving while `open` are open.
    func decide(open: [Open]) -> Decision {
        let regular = open.filter { !$0.reserved }
        if regular.count < maximum { return .admit }
        if let oldest = regular.filter({ !$0.busy }).min(by: { $0.lastActiveNanos < $1.lastActiveNanos }) {
            return .admitClosing(oldest.id)
        }
        return open.count - regular.count < reserve ? .admitReserved : .refuse
    }

    /// The paths a reserve slot answers.
    static let reservePaths: Set<String> = ["/healthz", "/readyz"]
}
