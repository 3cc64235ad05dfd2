import Protocol
import ThreadSafety

/// Heartbeats that arrive over HTTP (`POST /v1/heartbeats`, for networks where UDP is blocked):
/// validated exactly like a receiver's records, counted in the same totals, and queued on a ring
/// of their own that the drain reads with the receivers' rings — so replay checking, storage and
/// the monitor treat them the same. Requests from any thread take a lock, which keeps the ring's
/// single-producer contract; the UDP path never touches it.
///
/// HTTP pings (``HTTPPing``) are decided here in full, since their answer says what became of them:
/// key, budget and queue are checked before the reply, and accepted pings go on a ring of their own
/// that the drain takes without replay or budget checks (a ping has no sequence number to replay-check,
/// and its budget was spent here). Its budget is the per-application one UDP records have, kept
/// separately for pings.
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
    /// Accepted pings, for the drain (stored rows with sequence 0, which no record has).
    let pingRing: RowRing
    let pingCounters = IngestCounters()
    private let registry: RegistryHolder
    private let totals = Locked(ReceiverTotals())
    private let pings: Locked<PingState>

    /// What the ping path counts and spends, under one lock.
    private struct PingState: ~Copyable {
        var totals = ReceiverTotals()
        var budget: AppRateLimiter?
    }

    /// Where a validated record the ring has no room for still reaches liveness.
    private let lastSeen: LastSeenTable?

    init(registry: RegistryHolder, ringCapacity: Int, lastSeen: LastSeenTable? = nil, rateLimit: (recordsPerSecond: Int, burst: Int) = (0, 0)) {
        self.registry = registry
        self.lastSeen = lastSeen
        ring = RowRing(capacity: ringCapacity)
        pingRing = RowRing(capacity: ringCapacity)
        pings = Locked(PingState(budget: AppRateLimiter(recordsPerSecond: rateLimit.recordsPerSecond, burst: rateLimit.burst)))
    }

    /// Checks `ping` against the registry (application, enabled, ping key), its application's budget
    /// and the queue, and queues it when all pass; counted either way.
    public func ping(_ ping: HTTPPing) -> HTTPPing.Outcome {
        switch admit(ping) {
        case .refused(let outcome): outcome
        case .admitted(let admitted): enqueue(admitted)
        }
    }

    /// A ping that passed the registry, its key and its budget, not queued yet: the caller must hand
    /// a record ping to ``enqueue(_:)`` (it is counted there), after storing its run when it has one,
    /// so that a notification the record causes finds the run's output stored.
    public struct AdmittedPing: Sendable {
        fileprivate let row: HeartbeatRow

        /// `application.id`.
        public var applicationID: Int { Int(row.applicationID) }
        /// When it arrived (µs).
        public var receivedAtMicros: Int64 { row.receivedAtMicros }

        /// `ping` admitted for application `applicationID` now (for a test's fake of the gate).
        public init(_ ping: HTTPPing, applicationID: Int) {
            self.init(ping, applicationID: applicationID, atMicros: WallClock.nowMicros())
        }

        /// `ping`, received at `atMicros`, admitted for application `applicationID`.
        init(_ ping: HTTPPing, applicationID: Int, atMicros: Int64) {
            row = HeartbeatRow(
                applicationID: Int32(truncatingIfNeeded: applicationID), kind: ping.kind, instance: ping.instance, sequence: 0,
                receivedAtMicros: atMicros, sentAtMicros: atMicros, status: ping.status)
        }
    }

    /// What ``admit(_:)`` decided.
    public enum Admission: Sendable {
        case admitted(AdmittedPing)
        case refused(HTTPPing.Outcome)
    }

    /// Checks `ping` against the registry, its key and its application's budget; a refusal is
    /// counted here (a `/log` ping's under ``logOutcomes``, a record's with the records), and so is an
    /// admitted `/log` ping, which is not a record and is never queued.
    public func admit(_ ping: HTTPPing) -> Admission {
        let table = registry.snapshot.validator.applications
        let entry = table.entry(for: ping.application)
        var outcome = entry.map { $0.isEnabled ? Self.checkKey(ping.key, entry: $0, table: table) : .disabled } ?? .unknownApplication
        let admitted = AdmittedPing(ping, applicationID: Int(entry?.applicationID ?? 0), atMicros: WallClock.nowMicros())
        return pings.withLock { state in
            if outcome == .accepted, let wait = state.budget?.admitOrWait(admitted.row), wait > 0 {
                outcome = .rateLimited(retryAfterSeconds: Int((wait + 999_999_999) / 1_000_000_000))
            }
            if ping.isLog {
                logCounts.withLock { $0[outcome.rejection?.description ?? "accepted", default: 0] &+= 1 }
            } else if let reason = outcome.rejection {
                state.totals.received &+= 1
                state.totals.reject(reason)
                pingCounters.publish(state.totals)
            }
            return outcome == .accepted ? .admitted(admitted) : .refused(outcome)
        }
    }

    /// Queues an admitted record ping for the drain; counted either way (a full queue is `overload`).
    public func enqueue(_ admitted: AdmittedPing) -> HTTPPing.Outcome {
        let row = admitted.row
        return pings.withLock { state in
            state.totals.received &+= 1
            guard !pingRing.push(row) else {
                state.totals.pushed &+= 1
                pingCounters.publishAccepted(state.totals)
                return .accepted
            }
            defer { pingCounters.publish(state.totals) }
            state.totals.reject(.overload)
            // Its key proved it, so like an unsigned record it may still count for liveness.
            if let lastSeen,
                OverflowArrival.counts(kind: row.kind, signed: false, instance: row.instance, sequence: 0, lastSeen: lastSeen.entry(for: Int64(row.applicationID))),
                lastSeen.recordOverflowArrival(applicationID: Int(row.applicationID), receivedMicros: row.receivedAtMicros)
            {
                state.totals.seenOnOverflow &+= 1
            } else {
                state.totals.notSeen &+= 1
            }
            return .overloaded
        }
    }

    /// `/log` pings by outcome (`accepted`, or the rejection reason's label): they are not records,
    /// so they are counted apart (`heartbeat_ping_logs_total`).
    public var logOutcomes: [String: UInt64] { logCounts.withLock { $0 } }
    private let logCounts = Locked([String: UInt64]())

    /// Whether `key` opens application `entry`: any (or none) for an unsigned one; for a signed one the
    /// ping key of its secret, or of its previous secret while a rotation's grace period lasts.
    private static func checkKey(_ key: String?, entry: ApplicationTable.Entry, table: ApplicationTable) -> HTTPPing.Outcome {
        guard entry.isSigned else { return .accepted }
        guard let key else { return .keyMissing }
        // A malformed key is compared as an all-zero one, so a wrong key takes the same time either way.
        let given = PingKey.parse(key) ?? .unsigned
        let keyIndex = Int(entry.keyIndex)
        if PingKey.derive(table.key(at: keyIndex)).constantTimeEquals(given) { return .accepted }
        if entry.hasPreviousKey, PingKey.derive(table.key(at: keyIndex + 1)).constantTimeEquals(given) { return .accepted }
        return .keyWrong
    }

    /// Counts a request to a ping route that was not a ping (``HTTPPing/Malformed``).
    public func countMalformedPing() {
        pings.withLock { state in
            state.totals.received &+= 1
            state.totals.reject(.malformed)
            pingCounters.publish(state.totals)
        }
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
