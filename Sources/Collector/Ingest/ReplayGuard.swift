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
struct ReplayGuard: ~Copyable {
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

    init(idleLimitMicros: Int64, initialCapacity: Int = 1 << 16) {
        self.idleLimitMicros = idleLimitMicros
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

    /// Whether `row`'s (application, instance, seq) is new; if so it is recorded.
    @inline(__always)
    mutating func admit(_ row: HeartbeatRow) -> Bool {
        let application = Int(UInt32(bitPattern: row.applicationID))
        if application >= primaryCapacity, application < Self.primaryIDLimit { growPrimaries(toHold: application) }
        guard application < primaryCapacity else { return admitInOverflow(row) }
        let primary = primaries + application
        let primaryKey = 1 << 32 | UInt64(row.instance)
        if primary.pointee.key == primaryKey { return Self.admit(row, into: primary) }
        return admitOther(row, primary: primary, primaryKey: primaryKey)
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

    /// `row`'s instance is not the one in its application's primary slot: its window is in the
    /// overflow table, or it is new and takes the primary slot (moving the slot's window, if any,
    /// to the overflow table).
    private mutating func admitOther(_ row: HeartbeatRow, primary: UnsafeMutablePointer<Entry>, primaryKey: UInt64) -> Bool {
        if let existing = overflowEntry(for: overflowKey(row)) { return Self.admit(row, into: existing) }
        if primary.pointee.key != 0 {
            var demoted = primary.pointee
            demoted.key = UInt64(UInt32(bitPattern: row.applicationID)) << 32 | (demoted.key & 0xFFFF_FFFF)
            insertInOverflow(demoted)
        } else {
            primaryCount += 1
        }
        let window = ReplayWindow().admitting(row.sequence)!
        primary.pointee = Entry(key: primaryKey, highest: window.highest, accepted: window.accepted, lastSeenMicros: row.receivedAtMicros)
        return true
    }

    @inline(__always)
    private func overflowKey(_ row: HeartbeatRow) -> UInt64 {
        UInt64(UInt32(bitPattern: row.applicationID)) << 32 | UInt64(row.instance)
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
        if overflowCount * 2 > capacity { rebuild(capacity: capacity * 2, keepingSince: .min) }
    }

    /// The path of application ids beyond the primary array: the overflow table alone.
    private mutating func admitInOverflow(_ row: HeartbeatRow) -> Bool {
        if let existing = overflowEntry(for: overflowKey(row)) { return Self.admit(row, into: existing) }
        let window = ReplayWindow().admitting(row.sequence)!
        insertInOverflow(Entry(key: overflowKey(row), highest: window.highest, accepted: window.accepted, lastSeenMicros: row.receivedAtMicros))
        return true
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
            hb_prefetch_for_write(entries + Int(truncatingIfNeeded: (overflowKey(row) &* multiplier) >> shift))
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
        let mask = capacity - 1
        for index in 0..<oldCapacity where old[index].key != 0 && old[index].lastSeenMicros >= cutoff {
            var slot = Int(truncatingIfNeeded: (old[index].key &* multiplier) >> shift)
            while entries[slot].key != 0 { slot = (slot + 1) & mask }
            entries[slot] = old[index]
            overflowCount += 1
        }
        old.deallocate()
    }
}
