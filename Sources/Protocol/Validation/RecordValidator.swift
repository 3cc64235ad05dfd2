/// Decides whether one record is accepted, up to and including its freshness: the checks of
/// `Spec/protocol.md` in their order — magic, version, kind, sequence (``HeartbeatRecord/decode(from:)``),
/// then `unknown_app`, `disabled`, `auth`, `stale`.
///
/// The remaining checks belong to whoever owns the shared state: `replay` (a ``ReplayWindow`` per
/// (application, instance)), `rate_limited` and `overload`. A record is accepted only when those
/// pass too, in that order.
///
/// Pure: no I/O, no allocation, and the clock is passed in.
public struct RecordValidator: Sendable {
    /// The default allowed distance between a signed record's `sent_at` and the collector's clock.
    public static let defaultAllowedSkewMicros: Int64 = 120_000_000

    /// A record that passed validation, with the index of its application's entry in the table.
    public struct Validated: Sendable {
        public let record: HeartbeatRecord
        public let entryIndex: Int

        @usableFromInline
        init(record: HeartbeatRecord, entryIndex: Int) {
            self.record = record
            self.entryIndex = entryIndex
        }
    }

    /// The registered applications.
    public let applications: ApplicationTable
    /// How far a signed record's `sent_at` may be from the collector's clock, either way.
    public let allowedSkewMicros: Int64

    /// A validator over `applications`.
    ///
    /// - Precondition: `allowedSkewMicros` is between 0 and one year (configuration validates it
    ///   with a clear message first).
    public init(applications: ApplicationTable, allowedSkewMicros: Int64 = defaultAllowedSkewMicros) {
        precondition(
            allowedSkewMicros >= 0 && allowedSkewMicros <= 366 * 86_400 * 1_000_000,
            "allowed clock skew must be between 0 and one year")
        self.applications = applications
        self.allowedSkewMicros = allowedSkewMicros
    }

    /// Validates the 64-byte record at `bytes` against the registry and `nowMicros` (the
    /// collector's Unix time in microseconds).
    ///
    /// - Precondition: `bytes` points at 64 readable bytes.
    @inlinable
    public func validate(_ bytes: UnsafeRawPointer, nowMicros: Int64) throws(RejectionReason) -> Validated {
        let record = try HeartbeatRecord.decode(from: bytes)
        guard let entryIndex = applications.entryIndex(of: record.application) else {
            throw .unknownApplication
        }
        let entry = applications.entries[entryIndex]
        guard entry.isEnabled else { throw .disabled }
        if entry.isSigned {
            guard !record.tag.isZero else { throw .authentication }
            let keys = applications.keys
            if !keys[Int(entry.keyIndex)].verify(record.tag, signing: bytes) {
                guard entry.previousKeyIndex >= 0,
                    keys[Int(entry.previousKeyIndex)].verify(record.tag, signing: bytes)
                else { throw .authentication }
            }
            // Written as two comparisons so that a hostile sent_at cannot overflow a subtraction.
            guard record.sentAtMicros >= nowMicros &- allowedSkewMicros,
                record.sentAtMicros <= nowMicros &+ allowedSkewMicros
            else { throw .stale }
        }
        return Validated(record: record, entryIndex: entryIndex)
    }
}
