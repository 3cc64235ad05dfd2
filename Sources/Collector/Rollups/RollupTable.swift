import CMemory

/// The drain's per-minute counts: an open-addressing hash table (linear probing) of
/// ``RollupEntry``s keyed by (application, instance, minute), in one cache-aligned block.
///
/// Owned by one thread at a time — the drain while it counts, then the ``RollupWriter`` while it
/// writes and clears — and handed over through the writer's lock; never shared while in use.
/// Counting allocates nothing: the table grows (doubling, kept at most half full) only when a
/// minute holds more keys than any before, and a table is reused minute after minute, so after
/// the first minutes it stops growing. At its maximum capacity a record of a new key is refused
/// (the caller counts it) rather than growing without bound.
///
/// Memory: slots live in huge pages, touched when they are mapped (see ``allocate(_:hugePages:)``).
/// Only the writer's thread and start-up map such slots; the drain, when it grows a table, maps
/// plain pages (which the kernel fills without compacting memory), and the writer moves the table
/// to huge pages when it clears it (``clearForReuse()``), before the drain gets it back.
final class RollupTable: @unchecked Sendable {
    /// The most slots a table takes by default (64 bytes each: 256 MiB), so at most 2,097,152 keys.
    static let defaultMaximumCapacity = 1 << 22
    private(set) var capacity: Int
    let maximumCapacity: Int
    private var slots: UnsafeMutablePointer<RollupEntry>
    /// Whether the slots are in huge pages, touched at mapping.
    private(set) var usesHugePages: Bool
    /// Slots in use.
    private(set) var count = 0
    /// Records counted since the last ``clearForReuse()``.
    private(set) var records: UInt64 = 0

    /// A table with room for `expectedKeys` keys before it has to grow.
    init(expectedKeys: Int, maximumCapacity: Int = defaultMaximumCapacity) {
        precondition(maximumCapacity >= 1_024 && maximumCapacity.nonzeroBitCount == 1, "a power of two of at least 1024 slots")
        self.maximumCapacity = maximumCapacity
        var capacity = 1_024
        while capacity < expectedKeys * 2, capacity < maximumCapacity { capacity <<= 1 }
        self.capacity = capacity
        slots = Self.allocate(capacity, hugePages: true)
        usesHugePages = true
    }

    deinit {
        Self.free(slots, capacity)
    }

    /// Zeroed slots in a mapping of their own. With `hugePages`, the mapping asks for huge pages
    /// (``hb_map_table``: a lookup is a random line in megabytes, and with 4 KiB pages nearly
    /// every one also missed the TLB, ~14 ns a record, Spec/tuning.md) and every page is touched
    /// here: a huge page's first touch can wait for the kernel to compact memory, and a drain
    /// that waited let the rings overflow. Without, pages are left for first touch (cheap, never
    /// compacting): what the drain maps when it grows a table.
    private static func allocate(_ capacity: Int, hugePages: Bool) -> UnsafeMutablePointer<RollupEntry> {
        let bytes = capacity * MemoryLayout<RollupEntry>.stride
        guard let raw = hb_map_table(bytes, hugePages ? 1 : 0) else {
            fatalError("rollup table: could not map \(bytes) bytes")
        }
        if hugePages { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        return raw.bindMemory(to: RollupEntry.self, capacity: capacity)
    }

    private static func free(_ slots: UnsafeMutablePointer<RollupEntry>, _ capacity: Int) {
        hb_unmap_table(UnsafeMutableRawPointer(slots), capacity * MemoryLayout<RollupEntry>.stride)
    }

    @inline(__always)
    private static func hash(applicationID: Int32, instance: UInt32, minute: Int32) -> Int {
        var key = (UInt64(UInt32(bitPattern: applicationID)) << 32 | UInt64(instance)) &* 0x9E37_79B9_7F4A_7C15
        key ^= UInt64(UInt32(bitPattern: minute)) &* 0xC2B2_AE3D_27D4_EB4F
        key ^= key >> 31
        return Int(truncatingIfNeeded: key)
    }

    /// Starts loading the slot `row` will probe first.
    @inline(__always)
    func prefetch(_ row: HeartbeatRow) {
        let minute = RollupEntry.minute(ofMicros: row.receivedAtMicros)
        let index = Self.hash(applicationID: row.applicationID, instance: row.instance, minute: minute) & (capacity - 1)
        hb_prefetch_for_write(UnsafeRawPointer(slots + index))
    }

    /// Counts `row`; false when its key is new and the table is at its largest and half full.
    /// (A loop, not a call to itself after growing, so that it can be inlined into the drain.)
    @inline(__always)
    func count(_ row: HeartbeatRow) -> Bool {
        let minute = RollupEntry.minute(ofMicros: row.receivedAtMicros)
        let hash = Self.hash(applicationID: row.applicationID, instance: row.instance, minute: minute)
        while true {
            var index = hash & (capacity - 1)
            while true {
                let slot = slots + index
                if slot.pointee.minute == 0 { break }
                if slot.pointee.minute == minute, slot.pointee.applicationID == row.applicationID, slot.pointee.instance == row.instance {
                    slot.pointee.add(row)
                    records &+= 1
                    return true
                }
                index = (index + 1) & (capacity - 1)
            }
            if (count + 1) * 2 <= capacity {
                slots[index] = RollupEntry(first: row, minute: minute)
                count += 1
                records &+= 1
                return true
            }
            guard capacity < maximumCapacity else { return false }
            grow()
        }
    }

    /// Every entry in use, in slot order.
    func forEach(_ body: (RollupEntry) throws -> Void) rethrows {
        for index in 0..<capacity where slots[index].minute != 0 {
            try body(slots[index])
        }
    }

    /// Empties the table, keeping its size; slots the drain mapped when it grew the table move to
    /// huge pages here, on the writer's thread.
    func clearForReuse() {
        if !usesHugePages {
            Self.free(slots, capacity)
            slots = Self.allocate(capacity, hugePages: true)
            usesHugePages = true
        } else if count > 0 {
            UnsafeMutableRawPointer(slots).initializeMemory(as: UInt8.self, repeating: 0, count: capacity * MemoryLayout<RollupEntry>.stride)
        }
        count = 0
        records = 0
    }

    /// Doubles the slots and places every entry again.
    private func grow() {
        let old = slots
        let oldCapacity = capacity
        capacity *= 2
        slots = Self.allocate(capacity, hugePages: false)
        usesHugePages = false
        for index in 0..<oldCapacity where old[index].minute != 0 {
            let entry = old[index]
            var target = Self.hash(applicationID: entry.applicationID, instance: entry.instance, minute: entry.minute) & (capacity - 1)
            while slots[target].minute != 0 { target = (target + 1) & (capacity - 1) }
            slots[target] = entry
        }
        Self.free(old, oldCapacity)
    }
}
