import Protocol

/// Sends one application's heartbeats to a collector: what an application embeds.
///
/// ```swift
/// let client = HeartbeatClient(
///     endpoint: try HeartbeatEndpoint(parsing: "collector.internal:7411"),
///     application: ApplicationUUID("0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b")!,
///     secret: try ApplicationSecret(hex: secretHex))
/// let heartbeats = Task { await client.run(every: .seconds(10)) }   // beats until cancelled, then `stop`
/// client.start(); defer { client.success() }                        // or wrap a job run
/// ```
///
/// Every sending call encodes one record (signed when the client has a secret), hands it to the
/// kernel with one non-blocking `send`, and returns. Nothing throws into the caller and nothing
/// waits: a record that cannot be sent is counted in ``statistics`` and dropped (a heartbeat that
/// arrives late is worth nothing). The client keeps the protocol's instance id and sequence number
/// (``SenderIdentity``), and is safe to share between threads and tasks.
public final class HeartbeatClient: Sendable {
    /// The application the records speak for, with this process's instance id and sequence.
    public let identity: SenderIdentity
    /// Where records go.
    public var endpoint: HeartbeatEndpoint { destination.endpoint }
    /// The `interval` field of each record: milliseconds until the next one is due (0 = registry's).
    public let intervalMillis: UInt32
    private let key: TagKey?
    private let destination: DatagramDestination

    /// A client for `application`, sending to `endpoint`. With a `secret`, every record is signed.
    ///
    /// A numeric address is usable at once; a host name is resolved in the background (records
    /// sent before that completes are counted as unresolved — see ``waitUntilResolved(timeoutMillis:)``).
    public init(
        endpoint: HeartbeatEndpoint, application: ApplicationUUID, secret: ApplicationSecret? = nil,
        intervalMillis: UInt32 = 0
    ) {
        self.identity = SenderIdentity(application: application)
        self.key = secret.map(TagKey.init(secret:))
        self.intervalMillis = intervalMillis
        self.destination = DatagramDestination(endpoint: endpoint)
    }

    /// What happened to the records sent so far.
    public var statistics: SendStatistics { destination.counters.snapshot }

    /// Waits until the endpoint's address is known, at most `timeoutMillis`; returns whether it
    /// is. Only one-shot tools need this: a long-running client simply starts sending.
    public func waitUntilResolved(timeoutMillis: Int = 5_000) -> Bool {
        destination.waitUntilResolved(timeoutMillis: timeoutMillis)
    }

    /// Sends a `beat`: the application is alive.
    public func beat(status: Int32 = 0) { send(.beat, status: status) }

    /// Sends a `start`: a job run began (its duration is measured to the next success or fail).
    public func start(status: Int32 = 0) { send(.start, status: status) }

    /// Sends a `success`: the job run ended well. Counts as a beat.
    public func success(status: Int32 = 0) { send(.success, status: status) }

    /// Sends a `fail`: the application reports a failure and goes down at once.
    public func fail(status: Int32 = 1) { send(.fail, status: status) }

    /// Sends a `stop`: a graceful shutdown; the application is paused, without an alert, until
    /// its next record.
    public func stop(status: Int32 = 0) { send(.stop, status: status) }

    /// Sends one record of `kind` now.
    public func send(_ kind: RecordKind, status: Int32 = 0) {
        send(kind, status: status, intervalMillis: intervalMillis)
    }

    /// Beats every `interval` (each one shifted by a random amount up to ±`jitter`, so that a
    /// fleet started together does not beat in lock-step) until the task is cancelled, then sends
    /// `stop`. Each record promises the next within `interval + jitter`.
    public func run(every interval: Duration, jitter: Duration = .zero) async {
        precondition(interval > .zero, "the heartbeat interval must be positive")
        precondition(jitter >= .zero && jitter < interval, "jitter must be between 0 and the interval")
        let promisedMillis = Self.millis(interval + jitter)
        while !Task.isCancelled {
            send(.beat, status: 0, intervalMillis: intervalMillis != 0 ? intervalMillis : promisedMillis)
            let jitterNanos = Self.nanos(jitter)
            let offset = jitterNanos == 0 ? 0 : Int64.random(in: -jitterNanos...jitterNanos)
            do {
                try await Task.sleep(for: interval + .nanoseconds(offset))
            } catch {
                break
            }
        }
        stop()
    }

    private func send(_ kind: RecordKind, status: Int32, intervalMillis: UInt32) {
        var record = identity.makeRecord(
            kind: kind, sentAtMicros: WallClock.nowMicros(), intervalMillis: intervalMillis, status: status)
        withUnsafeTemporaryAllocation(byteCount: WireFormat.recordSize, alignment: 8) { buffer in
            record.encodeSigned(with: key, to: buffer.baseAddress!)
            destination.send(UnsafeRawBufferPointer(buffer), records: 1)
        }
    }

    private static func nanos(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private static func millis(_ duration: Duration) -> UInt32 {
        UInt32(clamping: nanos(duration) / 1_000_000)
    }
}
