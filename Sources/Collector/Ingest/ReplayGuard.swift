import Protocol

/// The anti-replay windows of every (application, instance), owned by the single ingest drain
/// thread: replay is checked after the rings, where all receivers' rows meet, so one window is
/// never touched by two threads and needs no lock or atomic (race-free by confinement, whichever
/// socket a sender's datagrams land on).
///
/// Windows of instances idle for longer than `idleLimitMicros` are forgotten by ``evictIdle(nowMicros:)``
/// so memory stays bounded as senders restart with new instances; a record of a forgotten instance
/// starts a new window (signed records older than the skew are refused before they get here).
struct ReplayGuard {
    private struct Entry {
        var window: ReplayWindow
        var lastSeenMicros: Int64

        mutating func admitAndTouch(_ sequence: UInt64, at micros: Int64) -> Bool {
            lastSeenMicros = max(lastSeenMicros, micros)
            return window.admit(sequence)
        }
    }

    let idleLimitMicros: Int64
    private var windows: [UInt64: Entry] = [:]

    init(idleLimitMicros: Int64) {
        self.idleLimitMicros = idleLimitMicros
    }

    /// Number of (application, instance) windows held.
    var count: Int { windows.count }

    /// Whether `row`'s (application, instance, seq) is new; if so it is recorded.
    mutating func admit(_ row: HeartbeatRow) -> Bool {
        let key = UInt64(UInt32(bitPattern: row.applicationID)) << 32 | UInt64(row.instance)
        return windows[key, default: Entry(window: ReplayWindow(), lastSeenMicros: 0)].admitAndTouch(
            row.sequence, at: row.receivedAtMicros)
    }

    /// Forgets windows idle since before `nowMicros - idleLimitMicros`; returns how many.
    @discardableResult
    mutating func evictIdle(nowMicros: Int64) -> Int {
        let before = windows.count
        let cutoff = nowMicros - idleLimitMicros
        windows = windows.filter { $0.value.lastSeenMicros >= cutoff }
        return before - windows.count
    }
}
