import Atomics

/// Per-application last-seen state, in flat arrays indexed by `application.id`, for the liveness
/// monitor: when the latest accepted record was received, and its (instance, seq) — from which a
/// reader can also tell records lost on the way (gaps in seq).
///
/// One writer (the ingest drain, for every accepted row) and any number of readers. Each field is
/// its own atomic, stored and loaded relaxed: a reader sees every field's latest value soon, but may
/// pair one record's instance with the next record's seq. The arrays grow (to a new, larger set,
/// published atomically) when an application id beyond them appears; a reader holding the old set
/// keeps it alive and simply sees no further updates in it.
public final class LastSeenTable: Sendable {
    /// One generation of the arrays.
    final class Arrays: AtomicReference, @unchecked Sendable {
        let capacity: Int
        let receivedMicros: UnsafeMutablePointer<UnsafeAtomic<Int64>.Storage>
        let instance: UnsafeMutablePointer<UnsafeAtomic<UInt32>.Storage>
        let sequence: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>

        init(capacity: Int, copying previous: Arrays?) {
            self.capacity = capacity
            receivedMicros = .allocate(capacity: capacity)
            instance = .allocate(capacity: capacity)
            sequence = .allocate(capacity: capacity)
            let copied = previous?.capacity ?? 0
            for index in 0..<capacity {
                let old = index < copied ? previous : nil
                (receivedMicros + index).initialize(to: UnsafeAtomic<Int64>.Storage(old.map { Self.load($0.receivedMicros, index) } ?? 0))
                (instance + index).initialize(to: UnsafeAtomic<UInt32>.Storage(old.map { Self.load($0.instance, index) } ?? 0))
                (sequence + index).initialize(to: UnsafeAtomic<UInt64>.Storage(old.map { Self.load($0.sequence, index) } ?? 0))
            }
        }

        deinit {
            receivedMicros.deallocate()
            instance.deallocate()
            sequence.deallocate()
        }

        static func load<Value: AtomicValue>(_ base: UnsafeMutablePointer<UnsafeAtomic<Value>.Storage>, _ index: Int) -> Value {
            UnsafeAtomic<Value>(at: base + index).load(ordering: .relaxed)
        }

        static func store<Value: AtomicValue>(_ value: Value, _ base: UnsafeMutablePointer<UnsafeAtomic<Value>.Storage>, _ index: Int) {
            UnsafeAtomic<Value>(at: base + index).store(value, ordering: .relaxed)
        }
    }

    /// What is known of one application.
    public struct Entry: Equatable, Sendable {
        /// When its latest accepted record was received (Unix µs); 0 when never.
        public let receivedMicros: Int64
        /// That record's instance and sequence number.
        public let instance: UInt32
        public let sequence: UInt64
    }

    private let current: ManagedAtomic<Arrays>

    /// A table with room for application ids below `capacity` before it first grows.
    public init(capacity: Int) {
        current = ManagedAtomic(Arrays(capacity: max(capacity, 16), copying: nil))
    }

    /// Records `row` as its application's latest. Writer (drain) thread only.
    @inline(__always)
    func record(_ row: HeartbeatRow) {
        let index = Int(row.applicationID)
        var arrays = current.load(ordering: .relaxed)
        if index >= arrays.capacity {
            var capacity = arrays.capacity
            while capacity <= index { capacity *= 2 }
            arrays = Arrays(capacity: capacity, copying: arrays)
            current.store(arrays, ordering: .releasing)
        }
        Arrays.store(row.receivedAtMicros, arrays.receivedMicros, index)
        Arrays.store(row.instance, arrays.instance, index)
        Arrays.store(row.sequence, arrays.sequence, index)
    }

    /// What is known of application `id`; an entry of zeros when nothing was received.
    public func entry(for id: Int64) -> Entry {
        let arrays = current.load(ordering: .acquiring)
        let index = Int(id)
        guard index >= 0, index < arrays.capacity else { return Entry(receivedMicros: 0, instance: 0, sequence: 0) }
        return Entry(
            receivedMicros: Arrays.load(arrays.receivedMicros, index), instance: Arrays.load(arrays.instance, index),
            sequence: Arrays.load(arrays.sequence, index))
    }

    /// Application ids the arrays have room for now.
    public var capacity: Int { current.load(ordering: .relaxed).capacity }
}
