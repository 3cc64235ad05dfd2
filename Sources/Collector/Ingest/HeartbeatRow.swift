import Protocol

/// One accepted heartbeat on its way to `heartbeat_event`: what the receivers push into their
/// rings and the flusher writes with COPY. A plain 48-byte value (no references), so rings can
/// hold rows inline in preallocated memory.
public struct HeartbeatRow: Equatable, Sendable, BitwiseCopyable {
    /// `application.id`.
    public var applicationID: Int32
    /// The record's kind (wire value).
    public var kind: RecordKind
    /// The sender's instance id.
    public var instance: UInt32
    /// The record's sequence number.
    public var sequence: UInt64
    /// When the collector received it: Unix time in microseconds, collector's clock.
    public var receivedAtMicros: Int64
    /// When the sender sent it: Unix time in microseconds, sender's clock.
    public var sentAtMicros: Int64
    /// The record's status field.
    public var status: Int32
    /// The interval the record promised, ms (0 = the registry's); for the monitor, not stored.
    public var intervalMillis: UInt32

    /// A row with these values.
    public init(
        applicationID: Int32, kind: RecordKind, instance: UInt32, sequence: UInt64,
        receivedAtMicros: Int64, sentAtMicros: Int64, status: Int32, intervalMillis: UInt32 = 0
    ) {
        self.intervalMillis = intervalMillis
        self.applicationID = applicationID
        self.kind = kind
        self.instance = instance
        self.sequence = sequence
        self.receivedAtMicros = receivedAtMicros
        self.sentAtMicros = sentAtMicros
        self.status = status
    }

    /// The (application, instance) pair as one hashable word: the application id's 32 bits above
    /// the instance's, so two rows share it exactly when they come from the same sending process.
    @inline(__always)
    public var instanceKey: UInt64 {
        UInt64(UInt32(bitPattern: applicationID)) << 32 | UInt64(instance)
    }
}
