import Atomics
import Protocol

/// Counters of one receiver thread: records received, pushed to its ring, and rejected by reason.
///
/// The receiver counts in plain memory of its own and publishes the totals here once per batch
/// (relaxed stores), so the per-record path never executes an atomic read-modify-write; readers on
/// other threads see totals at most one batch old.
public final class IngestCounters: Sendable {
    private let received = ManagedAtomic<UInt64>(0)
    private let pushed = ManagedAtomic<UInt64>(0)
    private let rejected: [ManagedAtomic<UInt64>] = RejectionReason.allCases.map { _ in ManagedAtomic<UInt64>(0) }
    private let seenOnOverflow = ManagedAtomic<UInt64>(0)
    private let notSeen = ManagedAtomic<UInt64>(0)

    public init() {}

    /// Publishes the receiver's running totals.
    func publish(_ totals: ReceiverTotals) {
        received.store(totals.received, ordering: .relaxed)
        pushed.store(totals.pushed, ordering: .relaxed)
        seenOnOverflow.store(totals.seenOnOverflow, ordering: .relaxed)
        notSeen.store(totals.notSeen, ordering: .relaxed)
        for reason in RejectionReason.allCases {
            rejected[Int(reason.rawValue)].store(totals.rejected(reason), ordering: .relaxed)
        }
    }

    /// Publishes only `received` and `pushed`: all that an accepted HTTP ping changes.
    func publishAccepted(_ totals: ReceiverTotals) {
        received.store(totals.received, ordering: .relaxed)
        pushed.store(totals.pushed, ordering: .relaxed)
    }

    /// Records received (a datagram of invalid length counts as one).
    public var recordsReceived: UInt64 { received.load(ordering: .relaxed) }
    /// Records that passed validation and entered the ring.
    public var recordsQueued: UInt64 { pushed.load(ordering: .relaxed) }
    /// Validated records that could not be queued (`overload`, or `rate_limited` at the receiver)
    /// but reached liveness as an overflow arrival (``OverflowArrival``).
    public var recordsSeenOnOverflow: UInt64 { seenOnOverflow.load(ordering: .relaxed) }
    /// Validated records that could not be queued and could not count for liveness either (a
    /// `fail`/`stop`, or a signed record that does not continue its instance): *not seen*. The
    /// monitor convicts nobody while this moves.
    public var recordsNotSeen: UInt64 { notSeen.load(ordering: .relaxed) }
    /// Records rejected for `reason` by this receiver.
    public func recordsRejected(_ reason: RejectionReason) -> UInt64 {
        rejected[Int(reason.rawValue)].load(ordering: .relaxed)
    }
}

/// A receiver thread's own running totals (no atomics; one owner).
struct ReceiverTotals {
    var received: UInt64 = 0
    var pushed: UInt64 = 0
    var seenOnOverflow: UInt64 = 0
    var notSeen: UInt64 = 0
    private var rejections = [UInt64](repeating: 0, count: RejectionReason.allCases.count)

    @inline(__always)
    mutating func reject(_ reason: RejectionReason, count: UInt64 = 1) {
        rejections[Int(reason.rawValue)] &+= count
    }

    func rejected(_ reason: RejectionReason) -> UInt64 { rejections[Int(reason.rawValue)] }

    /// For a validated record that was not queued: records it in `lastSeen` as an overflow
    /// arrival if it may count for liveness, else counts it as not seen. (Its rejection reason is
    /// counted by the caller.)
    mutating func noteUnqueued(_ validated: RecordValidator.Validated, nowMicros: Int64, lastSeen: LastSeenTable?) {
        guard let lastSeen else { return }
        let id = Int(validated.applicationID)
        let record = validated.record
        if OverflowArrival.counts(
            kind: record.kind, signed: validated.isSigned, instance: record.instance, sequence: record.sequence,
            lastSeen: lastSeen.entry(for: validated.applicationID)),
            lastSeen.recordOverflowArrival(applicationID: id, receivedMicros: nowMicros)
        {
            seenOnOverflow &+= 1
        } else {
            notSeen &+= 1
        }
    }
}
