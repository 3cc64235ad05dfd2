/// What validation needs to know about one registered application.
public struct ApplicationDescriptor: Sendable {
    /// The application's UUID, as in its records.
    public var uuid: ApplicationUUID
    /// The application's row id in PostgreSQL (`application.id`).
    public var databaseID: Int64
    /// Records of a disabled application are rejected as `disabled`.
    public var isEnabled: Bool
    /// The application's secret; `nil` for an unsigned application.
    public var secret: ApplicationSecret?
    /// The secret being rotated out, still accepted until its grace period ends.
    public var previousSecret: ApplicationSecret?

    public init(
        uuid: ApplicationUUID, databaseID: Int64, isEnabled: Bool = true,
        secret: ApplicationSecret? = nil, previousSecret: ApplicationSecret? = nil
    ) {
        self.uuid = uuid
        self.databaseID = databaseID
        self.isEnabled = isEnabled
        self.secret = secret
        self.previousSecret = previousSecret
    }
}

/// An immutable snapshot of the registered applications, built once and then read by any number
/// of receiver threads without locks (a new registry version is a new table).
///
/// Lookup is open addressing with linear probing over a power-of-two array of entry indices, kept
/// at most half full, hashed with a multiply-shift hash under random per-table multipliers (so
/// that nobody can choose UUIDs that collide). Secrets are kept pre-keyed (``TagKey``, 64 bytes a
/// secret) in a separate array, so unsigned applications cost no key memory.
public final class ApplicationTable: Sendable {
    /// One registered application, as validation reads it.
    public struct Entry: Sendable {
        /// The application's UUID.
        public let uuid: ApplicationUUID
        /// The application's row id in PostgreSQL.
        public let databaseID: Int64
        /// Whether records are accepted at all.
        public let isEnabled: Bool
        /// Index of the current secret's key in ``keys``, or -1 for an unsigned application.
        public let keyIndex: Int32
        /// Index of the previous secret's key in ``keys``, or -1 when there is none.
        public let previousKeyIndex: Int32

        /// Whether records must carry a valid tag.
        @inlinable
        public var isSigned: Bool { keyIndex >= 0 }
    }

    /// Marks an empty slot of the hash array.
    @usableFromInline
    static let emptySlot: Int32 = -1

    /// The applications, in the order they were given.
    public let entries: [Entry]
    /// The pre-keyed secrets that entries point at.
    public let keys: [TagKey]
    @usableFromInline
    let slots: [Int32]
    @usableFromInline
    let slotShift: UInt64
    @usableFromInline
    let highMultiplier: UInt64
    @usableFromInline
    let lowMultiplier: UInt64

    /// Builds a table of `applications`.
    ///
    /// - Precondition: no two descriptors share a UUID (PostgreSQL's unique index on
    ///   `application.uuid` guarantees this for the registry); at most 2^30 applications.
    public init(_ applications: [ApplicationDescriptor]) {
        precondition(applications.count < 1 << 30, "an application table holds fewer than 2^30 apps")
        var entries = [Entry]()
        entries.reserveCapacity(applications.count)
        var keys = [TagKey]()
        for application in applications {
            var keyIndex: Int32 = -1
            var previousKeyIndex: Int32 = -1
            if let secret = application.secret {
                keyIndex = Int32(keys.count)
                keys.append(TagKey(secret: secret))
                if let previous = application.previousSecret {
                    previousKeyIndex = Int32(keys.count)
                    keys.append(TagKey(secret: previous))
                }
            }
            entries.append(
                Entry(
                    uuid: application.uuid, databaseID: application.databaseID,
                    isEnabled: application.isEnabled, keyIndex: keyIndex,
                    previousKeyIndex: previousKeyIndex))
        }

        var slotBits: UInt64 = 4
        while (1 << slotBits) < applications.count * 2 { slotBits += 1 }
        var generator = SystemRandomNumberGenerator()
        let highMultiplier = (generator.next() as UInt64) | 1
        let lowMultiplier = (generator.next() as UInt64) | 1
        let slotShift = 64 - slotBits
        let mask = (1 << Int(slotBits)) - 1
        var slots = [Int32](repeating: Self.emptySlot, count: 1 << Int(slotBits))
        for (index, entry) in entries.enumerated() {
            var slot = Self.slot(
                of: entry.uuid, shift: slotShift, highMultiplier: highMultiplier,
                lowMultiplier: lowMultiplier)
            while slots[slot] != Self.emptySlot {
                precondition(entries[Int(slots[slot])].uuid != entry.uuid, "duplicate application \(entry.uuid)")
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(index)
        }

        self.entries = entries
        self.keys = keys
        self.slots = slots
        self.slotShift = slotShift
        self.highMultiplier = highMultiplier
        self.lowMultiplier = lowMultiplier
    }

    /// Number of applications in the table.
    public var count: Int { entries.count }

    /// The index in ``entries`` of the application with `uuid`, or `nil` when it is not registered.
    @inlinable
    public func entryIndex(of uuid: ApplicationUUID) -> Int? {
        let mask = slots.count - 1
        var slot = Self.slot(
            of: uuid, shift: slotShift, highMultiplier: highMultiplier, lowMultiplier: lowMultiplier)
        while true {
            let candidate = slots[slot]
            if candidate == Self.emptySlot { return nil }
            if entries[Int(candidate)].uuid == uuid { return Int(candidate) }
            slot = (slot + 1) & mask
        }
    }

    @inlinable
    static func slot(
        of uuid: ApplicationUUID, shift: UInt64, highMultiplier: UInt64, lowMultiplier: UInt64
    ) -> Int {
        Int(truncatingIfNeeded: ((uuid.high &* highMultiplier) ^ (uuid.low &* lowMultiplier)) >> shift)
    }
}
