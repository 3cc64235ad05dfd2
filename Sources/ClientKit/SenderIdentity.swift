import Protocol
import Synchronization

/// The identity a sending process keeps for one application, as the protocol requires: a random
/// instance id fixed for the process's life, and a sequence number that starts at 1 and grows by
/// one per record. Safe to share between threads; each call to ``nextSequence()`` returns a
/// number no other call returns.
public final class SenderIdentity: Sendable {
    /// The application the records speak for.
    public let application: ApplicationUUID
    /// This process's instance id for `application`.
    public let instance: UInt32
    private let issuedSequences = Atomic<UInt64>(0)

    /// A new identity for `application` with a random non-zero instance id.
    public convenience init(application: ApplicationUUID) {
        var generator = SystemRandomNumberGenerator()
        var instance: UInt32 = 0
        while instance == 0 { instance = generator.next() }
        self.init(application: application, instance: instance)
    }

    /// An identity with a chosen instance id (for tests and tools that must be reproducible).
    public init(application: ApplicationUUID, instance: UInt32) {
        self.application = application
        self.instance = instance
    }

    /// The next sequence number: 1 for the first call, then 2, 3, ….
    ///
    /// The protocol forbids wrapping to 0; at 2^64 - 1 records a process would have to choose a
    /// new instance id, which no real sender reaches (584,000 years at a million records a second).
    public func nextSequence() -> UInt64 {
        issuedSequences.add(1, ordering: .relaxed).newValue
    }

    /// A record of `kind` with the next sequence number, stamped with `sentAtMicros`.
    public func makeRecord(
        kind: RecordKind, sentAtMicros: Int64, intervalMillis: UInt32 = 0, status: Int32 = 0
    ) -> HeartbeatRecord {
        HeartbeatRecord(
            kind: kind, application: application, instance: instance, sequence: nextSequence(),
            sentAtMicros: sentAtMicros, intervalMillis: intervalMillis, status: status)
    }
}
