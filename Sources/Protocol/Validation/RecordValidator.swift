/// Decides whether one record is accepted, up to and including its freshness: the checks of
/// `Spec/protocol.md` in their order — magic, version, kind, sequence (``HeartbeatRecord/decode(from:)``),
/// then `unknown_app`, `disabled`, `auth`, `stale`.
///
/// The remaining checks belong to whoever owns the shared state: `rate_limited`, `overload`, then
/// `replay` (a ``ReplayWindow`` per (application, instance)). A record is accepted only when those
/// pass too, in that order.
///
/// Pure: no I/O, no allocation, and the clock is passed in.
public struct RecordValidator: Sendable {
    /// The default allowed distance between a signed record's `sent_at` and the collector's clock.
    public static let defaultAllowedSkewMicros: Int64 = 120_000_000

    /// A record that passed validation, with its application's row id.
    public struct Validated: Sendable {
        /// The decoded record.
        public let record: HeartbeatRecord
        /// `application.id` in PostgreSQL, which also indexes the collector's per-app arrays.
        public let applicationID: Int64
        /// Whether the application has a secret (the tag was verified).
        public let isSigned: Bool

        @usableFromInline
        init(record: HeartbeatRecord, applicationID: Int64, isSigned: Bool) {
            self.record = record
            self.applicationID = applicationID
            self.isSigned = isSigned
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
        guard let entry = applications.entry(for: record.application) else {
            throw .unknownApplication
        }
        guard entry.isEnabled else { throw .disabled }
        if entry.isSigned {
            guard !record.tag.isZero else { throw .authentication }
            let keyIndex = Int(entry.keyIndex)
            if !applications.verifyTag(of: bytes, keyIndex: keyIndex) {
                guard entry.hasPreviousKey, applications.verifyTag(of: bytes, keyIndex: keyIndex + 1)
                else { throw .authentication }
            }
            // Written as two comparisons so that a hostile sent_at cannot overflow a subtraction.
            guard record.sentAtMicros >= nowMicros &- allowedSkewMicros,
                record.sentAtMicros <= nowMicros &+ allowedSkewMicros
            else { throw .stale }
        }
        return Validated(record: record, applicationID: entry.applicationID, isSigned: entry.isSigned)
    }
}
