import CMemory
import Protocol

/// The anti-replay windows of every (application, instance), owned by the single ingest drain
/// thread: replay is checked after the rings, where all receivers' rows meet, so one window is
/// never touched by two threads and needs no lock or atomic (race-free by confinement, whichever
/// socket a sender's datagrams land on).
///
/// Storage is an open-addressing table of 32-byte entries (key, window, last seen) with linear
/// probing, a random multiply-shift hash and growth at half full: a lookup is a multiply and
/// usually one cache line. Windows of instances idle for longer than `idleLimitMicros` are
/// forgotten by ``evictIdle(nowMicros:)`` so memory stays bounded as senders restart with new
/// instances; a record of a forgotten instance starts a new window (signed records older than the
/// skew are refused before they get here).
struct ReplayGuard: ~Copyable {
    /// One slot; `key == 0` is empty (application ids start at 1, so no real key is 0).
    private struct Entry {
        var key: UInt64
        var highest: UInt64
        var accepted: UInt64
        var lastSeenMicros: Int64
    }

    let idleLimitMicros: Int64
    private var entries: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private var shift: UInt64
    private let multiplier: UInt64
    /// Number of (application, instance) windows held.
    private(set) var count = 0

    init(idleLimitMicros: Int64, initialCapacity: Int = 1 << 16) {
        self.idleLimitMicros = idleLimitMicros
        var bits: UInt64 = 4
        while (1 << bits) < initialCapacity { bits += 1 }
        capacity = 1 << Int(bits)
        shift = 64 - bits
        var generator = SystemRandomNumberGenerator()
        multiplier = (generator.next() as UInt64) | 1
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(key: 0, highest: 0, accepted: 0, lastSeenMicros: 0), count: capacity)
    }

    deinit {
        entries.deallocate()
    }

    /// Whether `row`'s (application, instance, seq) is new; if so it is recorded.
    @inline(__always)
    mutating func admit(_ row: HeartbeatRow) -> Bool {
        let key = UInt64(UInt32(bitPattern: row.applicationID)) << 32 | UInt64(row.instance)
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (key &* multiplier) >> shift)
        while true {
            let entry = entries + slot
            if entry.pointee.key == key {
                let window = ReplayWindow(highest: entry.pointee.highest, accepted: entry.pointee.accepted)
                guard let next = window.admitting(row.sequence) else { return false }
                entry.pointee.highest = next.highest
                entry.pointee.accepted = next.accepted
                entry.pointee.lastSeenMicros = max(entry.pointee.lastSeenMicros, row.receivedAtMicros)
                return true
            }
            if entry.pointee.key == 0 {
                let window = ReplayWindow().admitting(row.sequence)!
                entry.pointee = Entry(key: key, highest: window.highest, accepted: window.accepted, lastSeenMicros: row.receivedAtMicros)
                count += 1
                if count * 2 > capacity { rebuild(capacity: capacity * 2, keepingSince: .min) }
                return true
            }
            slot = (slot + 1) & mask
        }
    }

    /// Hints that `row`'s window will be looked up soon (its first probe slot).
    @inline(__always)
    func prefetch(_ row: HeartbeatRow) {
        let key = UInt64(UInt32(bitPattern: row.applicationID)) << 32 | UInt64(row.instance)
        hb_prefetch_for_write(entries + Int(truncatingIfNeeded: (key &* multiplier) >> shift))
    }

    /// Forgets windows idle since before `nowMicros - idleLimitMicros`; returns how many.
    @discardableResult
    mutating func evictIdle(nowMicros: Int64) -> Int {
        let before = count
        rebuild(capacity: capacity, keepingSince: nowMicros - idleLimitMicros)
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
        entries.initialize(repeating: Entry(key: 0, highest: 0, accepted: 0, lastSeenMicros: 0), count: capacity)
        count = 0
        let mask = capacity - 1
        for index in 0..<oldCapacity where old[index].key != 0 && old[index].lastSeenMicros >= cutoff {
            var slot = Int(truncatingIfNeeded: (old[index].key &* multiplier) >> shift)
            while entries[slot].key != 0 { slot = (slot + 1) & mask }
            entries[slot] = old[index]
            count += 1
        }
        old.deallocate()
    }
}
