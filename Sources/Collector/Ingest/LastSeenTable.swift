import Atomics
import CMemory

/// Per-application last-seen state, in a flat array indexed by `application.id`, for the liveness
/// monitor: when the latest accepted record was received, and its (instance, seq) — from which a
/// reader can also tell records lost on the way (gaps in seq).
///
/// One writer (the ingest drain, for every accepted row) and any number of readers. Each field is
/// its own atomic, stored and loaded relaxed: a reader sees every field's latest value soon, but may
/// pair one record's instance with the next record's seq. The arrays grow (to a new, larger set,
/// published atomically) when an application id beyond them appears; a reader holding the old set
/// keeps it alive and simply sees no further updates in it.
///
/// Besides, any receiver may record an *overflow arrival* — the time of a validated record its ring
/// had no room for (``recordOverflowArrival(applicationID:receivedMicros:)``, a compare-and-swap
/// maximum in the entry's last 8 bytes) — so that an arrival reaches liveness even when storage
/// and the drain fall behind. Readers see the later of the two times.
public final class LastSeenTable: @unchecked Sendable {
    /// One generation of the table: 32-byte entries (received µs, seq, instance, padding) side by
    /// side from a cache-line boundary, so that recording a row touches one cache line — not three
    /// (separate arrays), nor two (24-byte entries straddle a line boundary one time in three).
    final class Arrays: AtomicReference, @unchecked Sendable {
        static let stride = 32
        let capacity: Int
        let base: UnsafeMutableRawPointer

        init(capacity: Int, copying previous: Arrays?) {
            self.capacity = capacity
            base = .allocate(byteCount: capacity * Self.stride, alignment: 64)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * Self.stride)
            if let previous {
                for index in 0..<previous.capacity {
                    receivedMicros(index).store(previous.receivedMicros(index).load(ordering: .relaxed), ordering: .relaxed)
                    sequence(index).store(previous.sequence(index).load(ordering: .relaxed), ordering: .relaxed)
                    instance(index).store(previous.instance(index).load(ordering: .relaxed), ordering: .relaxed)
                    overflowMicros(index).store(previous.overflowMicros(index).load(ordering: .relaxed), ordering: .relaxed)
                }
            }
        }

        deinit {
            base.deallocate()
        }

        @inline(__always)
        func entryAddress(_ index: Int) -> UnsafeMutableRawPointer { base + index * Self.stride }

        @inline(__always)
        func receivedMicros(_ index: Int) -> UnsafeAtomic<Int64> {
            UnsafeAtomic(at: entryAddress(index).assumingMemoryBound(to: UnsafeAtomic<Int64>.Storage.self))
        }

        @inline(__always)
        func sequence(_ index: Int) -> UnsafeAtomic<UInt64> {
            UnsafeAtomic(at: (entryAddress(index) + 8).assumingMemoryBound(to: UnsafeAtomic<UInt64>.Storage.self))
        }

        @inline(__always)
        func instance(_ index: Int) -> UnsafeAtomic<UInt32> {
            UnsafeAtomic(at: (entryAddress(index) + 16).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
        }

        /// The latest overflow arrival (receivers' compare-and-swap maximum).
        @inline(__always)
        func overflowMicros(_ index: Int) -> UnsafeAtomic<Int64> {
            UnsafeAtomic(at: (entryAddress(index) + 24).assumingMemoryBound(to: UnsafeAtomic<Int64>.Storage.self))
        }

        /// The later of the drain's time (loaded acquiring, see ``LastSeenTable/record(_:)``) and
        /// the overflow arrival's.
        @inline(__always)
        func latestMicros(_ index: Int) -> Int64 {
            max(receivedMicros(index).load(ordering: .acquiring), overflowMicros(index).load(ordering: .relaxed))
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

    /// The arrays readers see (an atomic reference: loading it costs a reference-count update, so
    /// the writer never does, and keeps its own reference below).
    private let current: ManagedAtomic<Arrays>
    /// The writer's reference to the newest arrays (writer thread only).
    @exclusivity(unchecked) private var writerArrays: Arrays

    /// A table with room for application ids below `capacity` before it first grows.
    public init(capacity: Int) {
        let arrays = Arrays(capacity: max(capacity, 16), copying: nil)
        current = ManagedAtomic(arrays)
        writerArrays = arrays
    }

    /// Records `row` as its application's latest, and returns the receive time the drain recorded
    /// before it (0 when none). Writer (drain) thread only.
    @inline(__always) @discardableResult
    func record(_ row: HeartbeatRow) -> Int64 {
        let index = Int(row.applicationID)
        if index >= writerArrays.capacity {
            var capacity = writerArrays.capacity
            while capacity <= index { capacity *= 2 }
            writerArrays = Arrays(capacity: capacity, copying: writerArrays)
            current.store(writerArrays, ordering: .releasing)
        }
        let arrays = writerArrays
        let previous = arrays.receivedMicros(index).load(ordering: .relaxed)
        arrays.sequence(index).store(row.sequence, ordering: .relaxed)
        arrays.instance(index).store(row.instance, ordering: .relaxed)
        // Releasing (a plain store on x86): a reader that acquires this time also sees what the
        // writer did before it — the hot state relies on that to see the row's shared event.
        arrays.receivedMicros(index).store(row.receivedAtMicros, ordering: .releasing)
        return previous
    }

    /// Hints that application `id`'s entry will be written soon. Writer thread only.
    @inline(__always)
    func prefetch(_ id: Int32) {
        if Int(id) < writerArrays.capacity { hb_prefetch_for_write(writerArrays.entryAddress(Int(id))) }
    }

    /// What is known of application `id`; an entry of zeros when nothing was received.
    public func entry(for id: Int64) -> Entry {
        let arrays = current.load(ordering: .acquiring)
        let index = Int(id)
        guard index >= 0, index < arrays.capacity else { return Entry(receivedMicros: 0, instance: 0, sequence: 0) }
        return Entry(
            receivedMicros: arrays.latestMicros(index),
            instance: arrays.instance(index).load(ordering: .relaxed), sequence: arrays.sequence(index).load(ordering: .relaxed))
    }

    /// Records that a validated record of application `applicationID` arrived at `receivedMicros`
    /// but could not be queued (see ``OverflowArrival``). Any thread. False when the id is beyond
    /// the arrays (a registry newer than the table: the arrival is then not seen, and counted so).
    func recordOverflowArrival(applicationID: Int, receivedMicros: Int64) -> Bool {
        let arrays = current.load(ordering: .acquiring)
        guard applicationID >= 0, applicationID < arrays.capacity else { return false }
        let slot = arrays.overflowMicros(applicationID)
        var known = slot.load(ordering: .relaxed)
        while known < receivedMicros {
            let (exchanged, original) = slot.compareExchange(expected: known, desired: receivedMicros, ordering: .relaxed)
            if exchanged { break }
            known = original
        }
        return true
    }

    /// The applications whose last-seen time is later than `known[id]`, with that time, in id
    /// order. `known` is first grown to the table's capacity (new ids at 0) but not otherwise
    /// changed: the caller records what it has handled — the hot state at once, the
    /// `last_heartbeat` writer only once PostgreSQL has the values.
    public func changes(since known: inout [Int64]) -> [(id: Int, micros: Int64)] {
        var changed = [(id: Int, micros: Int64)]()
        changes(since: &known, into: &changed)
        return changed
    }

    /// ``changes(since:)`` into `changed`, which is emptied first but keeps its capacity, so a
    /// caller asking every round reuses one buffer.
    public func changes(since known: inout [Int64], into changed: inout [(id: Int, micros: Int64)]) {
        changed.removeAll(keepingCapacity: true)
        if known.count < capacity { known += Array(repeating: 0, count: capacity - known.count) }
        // One generation of the arrays for the whole pass; each time loaded acquiring, so whatever
        // the writer did before recording it (sharing the row's event) is visible too.
        let arrays = current.load(ordering: .acquiring)
        for id in 0..<min(arrays.capacity, known.count) {
            let received = arrays.latestMicros(id)
            if received > known[id] { changed.append((id, received)) }
        }
    }

    /// Application ids the arrays have room for now.
    public var capacity: Int { current.load(ordering: .relaxed).capacity }
}
