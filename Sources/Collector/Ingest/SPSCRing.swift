import Atomics

/// The ring that carries accepted rows from a receiver to the drain.
public typealias RowRing = SPSCRing<HeartbeatRow>

/// A bounded, lock-free ring of plain values between exactly one producer thread (a receiver) and
/// exactly one consumer thread (the drain, or the auto-registrar).
///
/// Contract: ``push(_:)`` is only ever called from one thread, and ``pop(into:maximum:)`` only
/// from one (other) thread; ``occupancy`` may be read from anywhere. Under that contract no lock
/// is taken and nothing is allocated after `init`.
///
/// How: `tail` (next slot to write) is written only by the producer and `head` (next slot to
/// read) only by the consumer; both only grow. The producer writes a slot, then publishes it with
/// a releasing store of `tail`; the consumer's acquiring load of `tail` makes the slot visible
/// before it reads it, and the reverse pair on `head` hands slots back. The two indices sit on
/// separate cache lines so the threads do not bounce one line between cores, and the producer
/// keeps a private copy of `head` so that it reads the shared one only when the ring looks full.
/// Those private copies are `@exclusivity(unchecked)`: each belongs to one thread by contract, and
/// the run-time exclusivity check would otherwise cost a call on every push and pop.
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    /// Slots; a power of two.
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Element>
    private let indexStorage: UnsafeMutableRawPointer
    private let head: UnsafeAtomic<Int>
    private let tail: UnsafeAtomic<Int>
    /// The producer's last view of `head` (producer thread only).
    @exclusivity(unchecked) private var producerHead = 0
    /// The consumer's last view of `tail` (consumer thread only); refreshed when it holds fewer
    /// rows than asked for.
    @exclusivity(unchecked) private var consumerTail = 0

    /// A ring of `capacity` slots (rounded up to a power of two, at least 2).
    public init(capacity requested: Int) {
        precondition(requested >= 1 && requested <= 1 << 30, "ring capacity must be 1...2^30")
        var capacity = 2
        while capacity < requested { capacity <<= 1 }
        self.capacity = capacity
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        indexStorage = .allocate(byteCount: 128, alignment: 64)
        let headStorage = indexStorage.bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: 1)
        let tailStorage = (indexStorage + 64).bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: 1)
        headStorage.initialize(to: UnsafeAtomic<Int>.Storage(0))
        tailStorage.initialize(to: UnsafeAtomic<Int>.Storage(0))
        head = UnsafeAtomic(at: headStorage)
        tail = UnsafeAtomic(at: tailStorage)
    }

    deinit {
        slots.deallocate()
        indexStorage.deallocate()
    }

    /// Appends `element`; returns `false`, changing nothing, when the ring is full. Producer only.
    @inline(__always)
    public func push(_ element: Element) -> Bool {
        let position = tail.load(ordering: .relaxed)
        if position &- producerHead == capacity {
            producerHead = head.load(ordering: .acquiring)
            if position &- producerHead == capacity { return false }
        }
        (slots + (position & mask)).initialize(to: element)
        tail.store(position &+ 1, ordering: .releasing)
        return true
    }

    /// Moves up to `maximum` elements, oldest first, to `destination`; returns how many. Consumer only.
    public func pop(into destination: UnsafeMutablePointer<Element>, maximum: Int) -> Int {
        let position = head.load(ordering: .relaxed)
        if consumerTail &- position < maximum { consumerTail = tail.load(ordering: .acquiring) }
        let count = min(consumerTail &- position, maximum)
        guard count > 0 else { return 0 }
        let start = position & mask
        let firstRun = min(count, capacity - start)
        (destination).update(from: slots + start, count: firstRun)
        if firstRun < count { (destination + firstRun).update(from: slots, count: count - firstRun) }
        head.store(position &+ count, ordering: .releasing)
        return count
    }

    /// The oldest waiting elements, up to `maximum`, in place: one contiguous run of the ring's
    /// storage (it stops at the storage's end; the next call continues from its start). They stay
    /// the consumer's until ``release(_:)`` hands their slots back to the producer, so they can be
    /// read where they are instead of being copied out first. Consumer only.
    @inline(__always)
    public func peek(maximum: Int) -> UnsafeBufferPointer<Element> {
        let position = head.load(ordering: .relaxed)
        if consumerTail &- position < maximum { consumerTail = tail.load(ordering: .acquiring) }
        let start = position & mask
        let count = min(consumerTail &- position, maximum, capacity - start)
        return UnsafeBufferPointer(start: slots + start, count: max(count, 0))
    }

    /// Hands the first `count` elements of the last ``peek(maximum:)`` back to the producer.
    /// Consumer only.
    @inline(__always)
    public func release(_ count: Int) {
        head.store(head.load(ordering: .relaxed) &+ count, ordering: .releasing)
    }

    /// Elements waiting (exact when producer and consumer are idle; otherwise a moment's estimate).
    public var occupancy: Int {
        let consumed = head.load(ordering: .relaxed)
        return max(0, tail.load(ordering: .relaxed) &- consumed)
    }
}
