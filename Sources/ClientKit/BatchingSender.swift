import CMmsg
import Protocol
import Synchronization

#if canImport(Glibc)
import Glibc
import ThreadSafety
#endif

/// Sends records of many applications, up to 16 per datagram and many datagrams per `sendmmsg`:
/// for agents that speak for a fleet (one process relaying heartbeats of thousands of apps), and
/// for load generators.
///
/// ``enqueue(_:signedWith:)`` encodes the record straight into a preallocated buffer and returns;
/// the buffer goes out when it is full, when ``flush()`` is called, or at the latest `maxDelay`
/// after a record was queued (a background thread checks). Nothing throws or blocks: records that
/// cannot be sent are counted in ``statistics``. Safe to share between threads.
///
/// The caller owns the records' identity (instance and sequence, e.g. one ``SenderIdentity`` per
/// application) — the sender only packs, signs and sends.
public final class BatchingSender: Sendable {
    private struct Pending: ~Copyable {
        /// Encoded records, `capacity` × 64 bytes.
        let buffer: UnsafeMutableRawPointer
        /// One iovec and one message header per datagram, pointing into `buffer`.
        let vectors: UnsafeMutablePointer<iovec>
        let messages: UnsafeMutablePointer<hb_mmsghdr>
        let capacity: Int
        var count = 0
        /// Monotonic time the oldest queued record was queued.
        var oldestQueuedAt: UInt64 = 0
        var isClosed = false

        /// Room for `datagrams` datagrams of `recordsPerDatagram` records, back to back.
        init(datagrams: Int, recordsPerDatagram: Int) {
            capacity = datagrams * recordsPerDatagram
            buffer = .allocate(byteCount: capacity * WireFormat.recordSize, alignment: 64)
            vectors = .allocate(capacity: datagrams)
            messages = .allocate(capacity: datagrams)
            messages.initialize(repeating: hb_mmsghdr(), count: datagrams)
            for index in 0..<datagrams {
                vectors[index] = iovec(
                    iov_base: buffer + index * recordsPerDatagram * WireFormat.recordSize, iov_len: 0)
                messages[index].msg_hdr.msg_iov = vectors + index
                messages[index].msg_hdr.msg_iovlen = 1
            }
        }

        deinit {
            buffer.deallocate()
            vectors.deallocate()
            messages.deallocate()
        }
    }

    /// Where the datagrams go.
    public var endpoint: HeartbeatEndpoint { destination.endpoint }
    /// The longest a queued record waits before it is sent.
    public let maxDelay: Duration
    /// Records packed into each datagram (the last one of a flush may hold fewer).
    public let recordsPerDatagram: Int
    private let destination: DatagramDestination
    private let pending: Locked<Pending>
    private let stopped = Atomic<Bool>(false)
    private let maxDelayNanos: UInt64

    /// A sender to `endpoint` that packs `recordsPerDatagram` records (1-16) into each datagram,
    /// holds at most `maxDatagramsPerSend` datagrams before sending them in one `sendmmsg`, and
    /// no record longer than `maxDelay`. With `blocking`, a full socket buffer makes the send
    /// wait instead of dropping (and counting) the records.
    public init(
        endpoint: HeartbeatEndpoint, recordsPerDatagram: Int = WireFormat.maximumRecordsPerDatagram,
        maxDelay: Duration = .milliseconds(20), maxDatagramsPerSend: Int = 64, blocking: Bool = false
    ) {
        precondition(maxDatagramsPerSend >= 1 && maxDatagramsPerSend <= 1024, "maxDatagramsPerSend must be 1...1024")
        precondition(
            (1...WireFormat.maximumRecordsPerDatagram).contains(recordsPerDatagram), "recordsPerDatagram must be 1...16")
        precondition(maxDelay > .zero, "maxDelay must be positive")
        self.destination = DatagramDestination(endpoint: endpoint, blocking: blocking)
        self.maxDelay = maxDelay
        self.recordsPerDatagram = recordsPerDatagram
        let (seconds, attoseconds) = maxDelay.components
        self.maxDelayNanos = UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        self.pending = Locked(Pending(datagrams: maxDatagramsPerSend, recordsPerDatagram: recordsPerDatagram))
        startAgeFlusher()
    }

    deinit {
        stopped.store(true, ordering: .releasing)
    }

    /// What happened to the records given so far.
    public var statistics: SendStatistics { destination.counters.snapshot }

    /// Waits until the endpoint's address is known, at most `timeoutMillis`.
    public func waitUntilResolved(timeoutMillis: Int = 5_000) -> Bool {
        destination.waitUntilResolved(timeoutMillis: timeoutMillis)
    }

    /// Queues `record`, signed with `key` when given (its tag is set here), and sends the batch if
    /// it is now full. After ``close()`` the record is counted as unresolved.
    public func enqueue(_ record: HeartbeatRecord, signedWith key: TagKey? = nil) {
        var record = record
        let closed = pending.withLock { pending -> Bool in
            guard !pending.isClosed else { return true }
            if pending.count == 0 { pending.oldestQueuedAt = WallClock.monotonicNanos() }
            record.encodeSigned(with: key, to: pending.buffer + pending.count * WireFormat.recordSize)
            pending.count += 1
            if pending.count == pending.capacity { sendAll(&pending) }
            return false
        }
        if closed { destination.counters.record(.unresolved, records: 1) }
    }

    /// Sends everything queued now.
    public func flush() {
        pending.withLock { sendAll(&$0) }
    }

    /// Sends what is queued, stops the age flusher and closes the socket. Idempotent.
    public func close() {
        pending.withLock { pending in
            sendAll(&pending)
            pending.isClosed = true
        }
        stopped.store(true, ordering: .releasing)
        destination.close()
    }

    private func sendAll(_ pending: inout Pending) {
        guard pending.count > 0 else { return }
        let records = pending.count
        let datagrams = (records + recordsPerDatagram - 1) / recordsPerDatagram
        for index in 0..<datagrams {
            let inDatagram = min(recordsPerDatagram, records - index * recordsPerDatagram)
            pending.vectors[index].iov_len = inDatagram * WireFormat.recordSize
        }
        let vectors = pending.vectors
        destination.send(messages: pending.messages, count: datagrams) { vectors[$0].iov_len / WireFormat.recordSize }
        pending.count = 0
    }

    /// A background thread that sends batches older than `maxDelay`. It holds the sender weakly,
    /// so dropping the last reference ends it.
    private func startAgeFlusher() {
        let interval = max(maxDelayNanos / 2, 1_000_000)
        BackgroundThread.start { [weak self] in
            while true {
                var pause = timespec(tv_sec: Int(interval / 1_000_000_000), tv_nsec: Int(interval % 1_000_000_000))
                nanosleep(&pause, nil)
                guard let sender = self, !sender.stopped.load(ordering: .acquiring) else { return }
                let now = WallClock.monotonicNanos()
                sender.pending.withLock { pending in
                    if pending.count > 0, now &- pending.oldestQueuedAt >= sender.maxDelayNanos / 2 {
                        sender.sendAll(&pending)
                    }
                }
            }
        }
    }
}
