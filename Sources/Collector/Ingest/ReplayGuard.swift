import CMemory
import Protocol

/// The anti-replay windows of every (application, instance), owned by the single ingest drain
/// thread: replay is checked after the rings, where all receivers' rows meet, so one window is
/// never touched by two threads and needs no lock or atomic (race-free by confinement, whichever
/// socket a sender's datagrams land on).
///
/// Storage, chosen so that the common case — an application with one running instance — costs
/// one cache line and no hashing: each application id below ``primaryIDLimit`` has a *primary*
/// 32-byte slot in a flat array indexed by the id, holding the window of the application's newest
/// instance. Any other instance's window lives in an open-addressing *overflow* table of 32-byte
/// entries (key, window, last seen) with linear probing, a random multiply-shift hash and growth at
/// half full. When a new instance appears, the primary's window moves to the overflow table and the
/// newcomer takes the primary slot, so an application restarted with a new instance keeps its
/// lookups direct. Invariant: an (application, instance) has at most one window, in its primary
/// slot or in the overflow table (a primary slot is only claimed after the overflow table was
/// asked).
///
/// Windows of instances idle for longer than `idleLimitMicros` are forgotten by
/// ``evictIdle(nowMicros:)`` so memory stays bounded as senders restart with new instances; a
/// record of a forgotten instance starts a new window (signed records older than the skew are
/// refused before they get here).
///
/// Input cannot grow it without bound: an application holds at most ``maximumPerApplication``
/// windows and the guard at most ``maximumTotal``. A record of a new instance past either cap is
/// refused (``open(_:)`` returns false; the drain counts `instance_limit`), so only the flooding
/// application pays. No live window is ever evicted to make room: a window younger than the skew
/// limit that was dropped would make a captured signed record acceptable again.
struct ReplayGuard: ~Copyable {
    /// What ``check(_:)`` found.
    enum Check {
        /// The (application, instance) has a window and the seq is new in it: recorded.
        case admitted
        /// The seq was seen (or is older than the window).
        case replay
        /// No window yet: ``open(_:)`` creates one (after the rate budget is spent).
        case newInstance
    }

    /// One window; `key == 0` is empty. In the overflow table the key is (application << 32 |
    /// instance) (application ids start at 1, so no real key is 0); in a primary slot, where the
    /// application is the index, it is (1 << 32 | instance).
    private struct Entry {
        var key: UInt64
        var highest: UInt64
        var accepted: UInt64
        var lastSeenMicros: Int64

        static let empty = Entry(key: 0, highest: 0, accepted: 0, lastSeenMicros: 0)
    }

    /// Application ids at or above this use the overflow table only (the primary array would need
    /// 32 bytes for every id below the largest: 128 MiB at this limit).
    static let primaryIDLimit = 1 << 22

    let idleLimitMicros: Int64
    /// Windows one application may hold at once.
    let maximumPerApplication: Int
    /// Windows the guard may hold at once.
    let maximumTotal: Int
    /// Windows in the overflow table, by application (the primary slot adds one when taken).
    private var overflowPerApplication: [UInt32: Int32] = [:]
    private var primaries: UnsafeMutablePointer<Entry>
    private var primaryCapacity: Int
    private var entries: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private var shift: UInt64
    private let multiplier: UInt64
    /// Windows held in the overflow table.
    private var overflowCount = 0
    /// Windows held in primary slots.
    private var primaryCount = 0

    /// Number of (application, instance) windows held.
    var count: Int { primaryCount + overflowCount }

    /// The default caps: 1,024 instances of one application, 1,048,576 in all (~64 MiB of tables).
    static let defaultMaximumPerApplication = 1_024
    static let defaultMaximumTotal = 1 << 20

    init(
        idleLimitMicros: Int64, initialCapacity: Int = 1 << 16, maximumPerApplication: Int = defaultMaximumPerApplication,
        maximumTotal: Int = defaultMaximumTotal
    ) {
        precondition(maximumPerApplication >= 1 && maximumTotal >= 1, "replay window caps are positive")
        self.idleLimitMicros = idleLimitMicros
        self.maximumPerApplication = maximumPerApplication
        self.maximumTotal = maximumTotal
        var bits: UInt64 = 4
        while (1 << bits) < initialCapacity { bits += 1 }
        capacity = 1 << Int(bits)
        shift = 64 - bits
        var generator = SystemRandomNumberGenerator()
        multiplier = (generator.next() as UInt64) | 1
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: .empty, count: capacity)
        primaryCapacity = min(max(initialCapacity, 16), Self.primaryIDLimit)
        primaries = Self.allocateLineAligned(primaryCapacity)
        primaries.initialize(repeating: .empty, count: primaryCapacity)
    }

    deinit {
        entries.deallocate()
        primaries.deallocate()
    }

    /// Whether `row`'s (application, instance, seq) is new, if its instance has a window (then the
    /// seq is recorded); ``Check/newInstance`` when it has none (nothing is recorded).
    @inline(__always)
    mutating func check(_ row: HeartbeatRow) -> Check {
        let application = Int(UInt32(bitPattern: row.applicationID))
        if application >= primaryCapacity, application < Self.primaryIDLimit { growPrimaries(toHold: application) }
        if application < primaryCapacity {
            let primary = primaries + application
            if primary.pointee.key == 1 << 32 | UInt64(row.instance) { return Self.admit(row, into: primary) ? .admitted : .replay }
        }
        guard let existing = overflowEntry(for: row.instanceKey) else { return .newInstance }
        return Self.admit(row, into: existing) ? .admitted : .replay
    }

    /// Opens a window for `row`'s instance (which ``check(_:)`` found new) with `row`'s seq in it;
    /// false, creating nothing, when its application or the guard is at its cap.
    mutating func open(_ row: HeartbeatRow) -> Bool {
        let application = UInt32(bitPattern: row.applicationID)
        guard count < maximumTotal, windows(of: application) < maximumPerApplication else { return false }
        let window = ReplayWindow().admitting(row.sequence)!
        guard Int(application) < primaryCapacity else {
            insertInOverflow(Entry(key: row.instanceKey, highest: window.highest, accepted: window.accepted, lastSeenMicros: row.receivedAtMicros))
            return true
        }
        // The newcomer takes the primary slot; the slot's window, if any, moves to the overflow table.
        let primary = primaries + Int(application)
        if primary.pointee.key != 0 {
            var demoted = primary.pointee
            demoted.key = UInt64(application) << 32 | (demoted.key & 0xFFFF_FFFF)
            insertInOverflow(demoted)
        } else {
            primaryCount += 1
        }
        primary.pointee = Entry(key: 1 << 32 | UInt64(row.instance), highest: window.highest, accepted: window.accepted, lastSeenMicros: row.receivedAtMicros)
        return true
    }

    /// ``check(_:)`` then, for a new instance, ``open(_:)``: whether the row is accepted (tests and
    /// callers without a rate budget in between).
    mutating func admit(_ row: HeartbeatRow) -> Bool {
        switch check(row) {
        case .admitted: true
        case .replay: false
        case .newInstance: open(row)
        }
    }

    /// Windows application `application` holds.
    func windows(of application: UInt32) -> Int {
        let primary = Int(application) < primaryCapacity && primaries[Int(application)].key != 0 ? 1 : 0
        return primary + Int(overflowPerApplication[application] ?? 0)
    }

    /// Records `row` in the window at `entry`, if it is new there.
    @inline(__always)
    private static func admit(_ row: HeartbeatRow, into entry: UnsafeMutablePointer<Entry>) -> Bool {
        let window = ReplayWindow(highest: entry.pointee.highest, accepted: entry.pointee.accepted)
        guard let next = window.admitting(row.sequence) else { return false }
        entry.pointee.highest = next.highest
        entry.pointee.accepted = next.accepted
        entry.pointee.lastSeenMicros = max(entry.pointee.lastSeenMicros, row.receivedAtMicros)
        return true
    }

    /// The overflow table's window for `key`, if it has one.
    private func overflowEntry(for key: UInt64) -> UnsafeMutablePointer<Entry>? {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (key &* multiplier) >> shift)
        while true {
            let entry = entries + slot
            if entry.pointee.key == key { return entry }
            if entry.pointee.key == 0 { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Adds `entry` (whose key is not in the table yet) to the overflow table.
    private mutating func insertInOverflow(_ entry: Entry) {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (entry.key &* multiplier) >> shift)
        while entries[slot].key != 0 { slot = (slot + 1) & mask }
        entries[slot] = entry
        overflowCount += 1
        overflowPerApplication[UInt32(truncatingIfNeeded: entry.key >> 32), default: 0] += 1
        if overflowCount * 2 > capacity { rebuild(capacity: capacity * 2, keepingSince: .min) }
    }

    /// Room for `count` entries starting on a cache line, so no 32-byte entry straddles two.
    private static func allocateLineAligned(_ count: Int) -> UnsafeMutablePointer<Entry> {
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Entry>.stride, alignment: 64)
            .bindMemory(to: Entry.self, capacity: count)
    }

    private mutating func growPrimaries(toHold application: Int) {
        var newCapacity = primaryCapacity
        while newCapacity <= application { newCapacity *= 2 }
        newCapacity = min(newCapacity, Self.primaryIDLimit)
        let grown = Self.allocateLineAligned(newCapacity)
        grown.moveInitialize(from: primaries, count: primaryCapacity)
        (grown + primaryCapacity).initialize(repeating: .empty, count: newCapacity - primaryCapacity)
        primaries.deallocate()
        primaries = grown
        primaryCapacity = newCapacity
    }

    /// Hints that `row`'s window will be looked up soon (its primary slot, or its first probe
    /// slot in the overflow table).
    @inline(__always)
    func prefetch(_ row: HeartbeatRow) {
        let application = Int(UInt32(bitPattern: row.applicationID))
        if application < primaryCapacity {
            hb_prefetch_for_write(primaries + application)
        } else {
            hb_prefetch_for_write(entries + Int(truncatingIfNeeded: (row.instanceKey &* multiplier) >> shift))
        }
    }

    /// Forgets windows idle since before `nowMicros - idleLimitMicros`; returns how many.
    @discardableResult
    mutating func evictIdle(nowMicros: Int64) -> Int {
        let before = count
        let cutoff = nowMicros - idleLimitMicros
        for application in 0..<primaryCapacity where primaries[application].key != 0 && primaries[application].lastSeenMicros < cutoff {
            primaries[application] = .empty
            primaryCount -= 1
        }
        rebuild(capacity: capacity, keepingSince: cutoff)
        return before - count
    }

    /// Re-inserts every entry seen at or after `cutoff` into a table of `newCapacity` slots.
    private mutating func rebuild(capacity newCapacity: Int, keepingSince cutoff: Int64) {
        let old = entries
        let oldCapacity = capacity
        var bits: UInt64 = 0
        while (1 << bits) < newCapacity { bits += 1 }
        capacity = newCapacity
        shift = 64 - bits
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: .empty, count: capacity)
        overflowCount = 0
        overflowPerApplication.removeAll(keepingCapacity: true)
        let mask = capacity - 1
        for index in 0..<oldCapacity where old[index].key != 0 && old[index].lastSeenMicros >= cutoff {
            var slot = Int(truncatingIfNeeded: (old[index].key &* multiplier) >> shift)
            while entries[slot].key != 0 { slot = (slot + 1) & mask }
            entries[slot] = old[index]
            overflowCount += 1
            overflowPerApplication[UInt32(truncatingIfNeeded: old[index].key >> 32), default: 0] += 1
        }
        old.deallocate()
    }
}
