import CMemory
import CSHA256

/// What validation needs to know about one registered application.
public struct ApplicationDescriptor: Sendable {
    /// The application's UUID, as in its records.
    public var uuid: ApplicationUUID
    /// The application's row id in PostgreSQL (`application.id`), 1 or more. Collectors index
    /// their per-application arrays with it.
    public var applicationID: Int64
    /// Records of a disabled application are rejected as `disabled`.
    public var isEnabled: Bool
    /// The application's secret; `nil` for an unsigned application.
    public var secret: ApplicationSecret?
    /// The secret being rotated out, still accepted until its grace period ends.
    public var previousSecret: ApplicationSecret?

    /// Describes one application; unsigned and enabled unless told otherwise.
    public init(
        uuid: ApplicationUUID, applicationID: Int64, isEnabled: Bool = true,
        secret: ApplicationSecret? = nil, previousSecret: ApplicationSecret? = nil
    ) {
        self.uuid = uuid
        self.applicationID = applicationID
        self.isEnabled = isEnabled
        self.secret = secret
        self.previousSecret = previousSecret
    }
}

/// An immutable snapshot of the registered applications, built once and then read by any number
/// of receiver threads without locks (a new registry version is a new table).
///
/// Layout, chosen so that validating a record costs one cache miss for the lookup (and one more
/// for the key of a signed application): open addressing with linear probing over a power-of-two
/// array of 32-byte slots, each holding the UUID and everything validation reads, at most 3/4
/// full. Slots are found with a multiply-shift hash under random per-table multipliers, so that
/// nobody can choose UUIDs that collide. Pre-keyed secrets (``TagKey``, 64 bytes each) live in a
/// separate array, so unsigned applications cost no key memory. Memory: 32 bytes × the slot count
/// (between 4/3 and 8/3 of the application count) + 64 bytes per secret.
///
/// Thread safety: nothing is written after `init` returns, so sharing is safe (hence
/// `@unchecked Sendable`); the buffers are freed when the last reference goes.
public final class ApplicationTable: @unchecked Sendable {
    /// One registered application, as validation reads it.
    public struct Entry: Sendable, Equatable {
        /// The application's row id in PostgreSQL.
        public let applicationID: Int64
        /// Whether records are accepted at all.
        public let isEnabled: Bool
        /// Index of the current secret's key in the table's keys, or -1 for an unsigned app.
        public let keyIndex: Int32
        /// Whether the previous secret (at `keyIndex + 1`) is still accepted.
        public let hasPreviousKey: Bool

        /// An entry with these values (tables build their own; tests compare with this).
        public init(applicationID: Int64, isEnabled: Bool, keyIndex: Int32, hasPreviousKey: Bool) {
            self.applicationID = applicationID
            self.isEnabled = isEnabled
            self.keyIndex = keyIndex
            self.hasPreviousKey = hasPreviousKey
        }

        /// Whether records must carry a valid tag.
        @inlinable
        public var isSigned: Bool { keyIndex >= 0 }
    }

    /// One slot of the hash array; `applicationID == 0` marks an empty slot.
    @usableFromInline
    struct Slot: Sendable {
        @usableFromInline var uuidHigh: UInt64
        @usableFromInline var uuidLow: UInt64
        @usableFromInline var applicationID: Int64
        @usableFromInline var keyIndex: Int32
        @usableFromInline var flags: UInt32

        @usableFromInline static let enabledFlag: UInt32 = 1
        @usableFromInline static let previousKeyFlag: UInt32 = 2
        static let empty = Slot(uuidHigh: 0, uuidLow: 0, applicationID: 0, keyIndex: -1, flags: 0)
    }

    @usableFromInline
    let slots: UnsafeMutablePointer<Slot>
    @usableFromInline
    let slotMask: Int
    @usableFromInline
    let slotShift: UInt64
    @usableFromInline
    let highMultiplier: UInt64
    @usableFromInline
    let lowMultiplier: UInt64
    /// Pre-keyed secrets, each 64 bytes on its own cache line.
    @usableFromInline
    let keys: UnsafeMutablePointer<hb_hmac_sha256_key>
    /// Number of pre-keyed secrets held (current and previous).
    public let keyCount: Int
    /// Number of applications in the table.
    public let count: Int

    /// Builds a table of `applications`.
    ///
    /// - Precondition: every `applicationID` is 1 or more and no two descriptors share a UUID
    ///   (PostgreSQL's primary key and unique index guarantee both for the registry); fewer than
    ///   2^30 applications.
    public init(_ applications: [ApplicationDescriptor]) {
        precondition(applications.count < 1 << 30, "an application table holds fewer than 2^30 apps")
        var slotBits: UInt64 = 4
        while (1 << slotBits) * 3 < applications.count * 4 { slotBits += 1 }
        let slotCount = 1 << Int(slotBits)
        var generator = SystemRandomNumberGenerator()
        highMultiplier = (generator.next() as UInt64) | 1
        lowMultiplier = (generator.next() as UInt64) | 1
        slotShift = 64 - slotBits
        slotMask = slotCount - 1
        // Aligned to a cache line, so that no 32-byte slot straddles two lines (the lookup's
        // prefetch loads one line: with malloc's 16-byte alignment half the slots needed a second
        // one, fetched only when the lookup stalled on it).
        slots = UnsafeMutableRawPointer.allocate(byteCount: slotCount * MemoryLayout<Slot>.stride, alignment: 64)
            .bindMemory(to: Slot.self, capacity: slotCount)
        slots.initialize(repeating: .empty, count: slotCount)

        let keyCount = applications.reduce(0) { count, application in
            count + (application.secret == nil ? 0 : application.previousSecret == nil ? 1 : 2)
        }
        keys = UnsafeMutableRawPointer.allocate(
            byteCount: max(keyCount, 1) * MemoryLayout<hb_hmac_sha256_key>.stride, alignment: 64
        ).bindMemory(to: hb_hmac_sha256_key.self, capacity: max(keyCount, 1))
        var nextKey = 0
        for application in applications {
            precondition(application.applicationID > 0, "application ids start at 1")
            var slot = Self.slot(
                high: application.uuid.high, low: application.uuid.low, shift: slotShift,
                highMultiplier: highMultiplier, lowMultiplier: lowMultiplier)
            while slots[slot].applicationID != 0 {
                precondition(
                    slots[slot].uuidHigh != application.uuid.high || slots[slot].uuidLow != application.uuid.low,
                    "duplicate application \(application.uuid)")
                slot = (slot + 1) & slotMask
            }
            var keyIndex: Int32 = -1
            var flags = application.isEnabled ? Slot.enabledFlag : 0
            if let secret = application.secret {
                keyIndex = Int32(nextKey)
                (keys + nextKey).initialize(to: TagKey(secret: secret).state)
                nextKey += 1
                if let previous = application.previousSecret {
                    (keys + nextKey).initialize(to: TagKey(secret: previous).state)
                    nextKey += 1
                    flags |= Slot.previousKeyFlag
                }
            }
            slots[slot] = Slot(
                uuidHigh: application.uuid.high, uuidLow: application.uuid.low,
                applicationID: application.applicationID, keyIndex: keyIndex, flags: flags)
        }
        assert(nextKey == keyCount)
        self.keyCount = keyCount
        self.count = applications.count
    }

    deinit {
        slots.deallocate()
        keys.deallocate()
    }

    /// Number of slots in the hash array (for memory accounting).
    public var slotCount: Int { slotMask + 1 }

    /// The application with `uuid`, or `nil` when it is not registered.
    @inlinable
    public func entry(for uuid: ApplicationUUID) -> Entry? {
        var slot = Self.slot(
            high: uuid.high, low: uuid.low, shift: slotShift, highMultiplier: highMultiplier,
            lowMultiplier: lowMultiplier)
        while true {
            let candidate = slots[slot]
            if candidate.applicationID == 0 { return nil }
            if candidate.uuidHigh == uuid.high && candidate.uuidLow == uuid.low {
                return Entry(
                    applicationID: candidate.applicationID,
                    isEnabled: candidate.flags & Slot.enabledFlag != 0,
                    keyIndex: candidate.keyIndex,
                    hasPreviousKey: candidate.flags & Slot.previousKeyFlag != 0)
            }
            slot = (slot + 1) & slotMask
        }
    }

    /// Hints that the entry for `uuid` will be looked up soon: starts loading its slot's cache line,
    /// so that a receiver can overlap the lookups of a whole datagram's records.
    @inlinable
    public func prefetchEntry(for uuid: ApplicationUUID) {
        let slot = Self.slot(
            high: uuid.high, low: uuid.low, shift: slotShift, highMultiplier: highMultiplier, lowMultiplier: lowMultiplier)
        hb_prefetch_for_read(slots + slot)
    }

    /// The pre-keyed secret at `index`.
    ///
    /// - Precondition: `index` came from an ``Entry`` of this table (`keyIndex`, or `keyIndex + 1`
    ///   when `hasPreviousKey`).
    @inlinable
    public func key(at index: Int) -> TagKey {
        precondition(index >= 0 && index < keyCount, "key index out of range")
        return TagKey(state: keys[index])
    }

    /// Whether the record at `record` carries the right tag under the key at `index`: the HMAC is
    /// computed straight from the table's storage and compared in constant time.
    ///
    /// - Precondition: as for ``key(at:)``; `record` points at 64 readable bytes.
    @inlinable
    public func verifyTag(of record: UnsafeRawPointer, keyIndex index: Int) -> Bool {
        precondition(index >= 0 && index < keyCount, "key index out of range")
        let bytes = record.assumingMemoryBound(to: UInt8.self)
        return hb_hmac_sha256_verify48(keys + index, bytes, bytes + WireFormat.Offset.tag) == 1
    }

    @inlinable
    static func slot(high: UInt64, low: UInt64, shift: UInt64, highMultiplier: UInt64, lowMultiplier: UInt64) -> Int {
        Int(truncatingIfNeeded: ((high &* highMultiplier) ^ (low &* lowMultiplier)) >> shift)
    }
}
