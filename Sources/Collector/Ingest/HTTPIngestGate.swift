import Protocol
import ThreadSafety

/// Heartbeats that arrive over HTTP (`POST /v1/heartbeats`, for networks where UDP is blocked):
/// validated exactly like a receiver's records, counted in the same totals, and queued on a ring
/// of their own that the drain reads with the receivers' rings — so replay checking, storage and
/// the monitor treat them the same. Requests from any thread take a lock, which keeps the ring's
/// single-producer contract; the UDP path never touches it.
public final class HTTPIngestGate: @unchecked Sendable {
    /// What happened to one request's records (replays are found later, by the drain, and counted
    /// in the collector's totals only).
    public struct Outcome: Sendable, Equatable {
        public let received: Int
        public let accepted: Int
        public let rejected: [RejectionReason: Int]

        public init(received: Int, accepted: Int, rejected: [RejectionReason: Int]) {
            self.received = received
            self.accepted = accepted
            self.rejected = rejected
        }
    }

    let ring: RowRing
    let counters = IngestCounters()
    private let registry: RegistryHolder
    private let totals = Locked(ReceiverTotals())

    /// Where a validated record the ring has no room for still reaches liveness.
    private let lastSeen: LastSeenTable?

    init(registry: RegistryHolder, ringCapacity: Int, lastSeen: LastSeenTable? = nil) {
        self.registry = registry
        self.lastSeen = lastSeen
        ring = RowRing(capacity: ringCapacity)
    }

    /// Validates and queues every 64-byte record in `records` (whose length the caller checked).
    public func submit(_ records: UnsafeRawBufferPointer) -> Outcome {
        let count = records.count / WireFormat.recordSize
        return totals.withLock { totals in
            let validator = registry.snapshot.validator
            let nowMicros = WallClock.nowMicros()
            var accepted = 0
            var rejected = [RejectionReason: Int]()
            for index in 0..<count {
                do throws(RejectionReason) {
                    let validated = try validator.validate(records.baseAddress! + index * WireFormat.recordSize, nowMicros: nowMicros)
                    let row = HeartbeatRow(
                        applicationID: Int32(truncatingIfNeeded: validated.applicationID), kind: validated.record.kind,
                        instance: validated.record.instance, sequence: validated.record.sequence, receivedAtMicros: nowMicros,
                        sentAtMicros: validated.record.sentAtMicros, status: validated.record.status, intervalMillis: validated.record.intervalMillis)
                    if ring.push(row) {
                        accepted += 1
                    } else {
                        rejected[.overload, default: 0] += 1
                        totals.noteUnqueued(validated, nowMicros: nowMicros, lastSeen: lastSeen)
                    }
                } catch {
                    rejected[error, default: 0] += 1
                }
            }
            totals.received &+= UInt64(count)
            totals.pushed &+= UInt64(accepted)
            for (reason, number) in rejected { totals.reject(reason, count: UInt64(number)) }
            counters.publish(totals)
            return Outcome(received: count, accepted: accepted, rejected: rejected)
        }
    }
}
