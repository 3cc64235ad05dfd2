import Collector

/// What the sidecar needs of a collector, and nothing more: its snapshot (health, readiness,
/// `/metrics`, `GET /v1/collector`), the HTTP ingest gate, and where status lookups and registry
/// writes go. ``HeartbeatCollector`` is the real one; route tests use a fake without PostgreSQL or
/// UDP.
public protocol SidecarCollector: AnyObject, Sendable {
    /// Everything the collector counts, now.
    func snapshot() -> CollectorSnapshot
    /// Every application's profile and liveness as the collector holds them in memory: what
    /// status reads answer.
    func liveStatus() -> LiveStatus
    /// Asks the collector to reload its registry now rather than at its next poll (after a write).
    func checkRegistryNow()
    /// Validates records received over HTTP and queues the accepted ones, like a receiver.
    func submitHTTPRecords(_ records: UnsafeRawBufferPointer) -> HTTPIngestGate.Outcome
    /// Checks an HTTP ping and queues it when accepted.
    func submitPing(_ ping: HTTPPing) -> HTTPPing.Outcome
    /// The first half of ``submitPing(_:)`` for a ping whose run is stored before its record is
    /// queued: registry, key and budget.
    func admitPing(_ ping: HTTPPing) -> HTTPIngestGate.Admission
    /// The second half: queues an admitted record ping.
    func enqueuePing(_ admitted: HTTPIngestGate.AdmittedPing) -> HTTPPing.Outcome
    /// Job runs kept per application (`--run-history`).
    var runHistory: Int { get }
    /// Counts a request to `/ping/…` that is not a ping (bad UUID, action or instance).
    func countMalformedPing()
    /// The PostgreSQL the status reads and the management writes go to.
    var databaseURL: String { get }
    /// A streaming replica of it for history reads (`--database-read-url`); nil for none.
    var databaseReadURL: String? { get }
    /// Sends a test notification to `channel` now (blocking, at most the delivery timeout); nil
    /// when the channel took it, else what went wrong.
    func sendTestNotification(to channel: NotificationChannel) -> String?
    /// Publishes an operator's pause or resume on the Redis channel, when Redis is configured.
    func publishNotification(_ payload: String)
}

extension HeartbeatCollector: SidecarCollector {
    public func submitHTTPRecords(_ records: UnsafeRawBufferPointer) -> HTTPIngestGate.Outcome {
        httpIngest.submit(records)
    }

    public func submitPing(_ ping: HTTPPing) -> HTTPPing.Outcome {
        httpIngest.ping(ping)
    }

    public func admitPing(_ ping: HTTPPing) -> HTTPIngestGate.Admission {
        httpIngest.admit(ping)
    }

    public func enqueuePing(_ admitted: HTTPIngestGate.AdmittedPing) -> HTTPPing.Outcome {
        httpIngest.enqueue(admitted)
    }

    public var runHistory: Int { configuration.runHistory }

    public func countMalformedPing() {
        httpIngest.countMalformedPing()
    }

    public var databaseURL: String { configuration.databaseURL }

    public var databaseReadURL: String? { configuration.databaseReadURL }

}
