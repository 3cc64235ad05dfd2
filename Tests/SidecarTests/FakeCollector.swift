import Collector
import Foundation
import Protocol
import Sidecar

/// A ``SidecarCollector`` without PostgreSQL, UDP or threads: the snapshot is whatever the test
/// sets, HTTP ingest records what it was handed and accepts every record whose third byte is 1
/// (the version byte), and there is no database (routes that need one answer 503).
final class FakeCollector: SidecarCollector, @unchecked Sendable {
    private let lock = NSLock()
    private var current = CollectorSnapshot()
    private var handed = [[UInt8]]()
    private var published = [String]()
    private var live = LiveStatus(
        registry: RegistrySnapshot(version: 1, applications: [], allowedSkewMicros: 0),
        view: LivenessView(source: .monitor, role: .alone, takenAtMicros: 1, sequence: 1, registryVersion: 1))
    private var registryChecks = 0

    var databaseURL: String { "postgresql://127.0.0.1:1/none?connect_timeout=1" }
    var databaseReadURL: String? { nil }
    /// What ``sendTestNotification(to:)`` answers.
    var testNotificationOutcome: String?
    func sendTestNotification(to channel: NotificationChannel) -> String? { testNotificationOutcome }

    /// Sets what ``snapshot()`` answers.
    func set(_ change: (inout CollectorSnapshot) -> Void) {
        lock.withLock { change(&current) }
    }

    func snapshot() -> CollectorSnapshot { lock.withLock { current } }

    /// Sets what ``liveStatus()`` answers.
    func setLive(_ status: LiveStatus) {
        lock.withLock { live = status }
    }

    func liveStatus() -> LiveStatus { lock.withLock { live } }

    func checkRegistryNow() { lock.withLock { registryChecks += 1 } }

    /// The bodies handed to HTTP ingest, in order.
    var submissions: [[UInt8]] { lock.withLock { handed } }

    func submitHTTPRecords(_ records: UnsafeRawBufferPointer) -> HTTPIngestGate.Outcome {
        let bytes = Array(records)
        lock.withLock { handed.append(bytes) }
        let count = bytes.count / WireFormat.recordSize
        let accepted = (0..<count).filter { bytes[$0 * WireFormat.recordSize + 2] == 1 }.count
        return HTTPIngestGate.Outcome(received: count, accepted: accepted, rejected: accepted < count ? [.version: count - accepted] : [:])
    }

    /// What ``submitPing(_:)`` answers, and the pings it was handed.
    var pingOutcome: HTTPPing.Outcome {
        get { lock.withLock { outcome } }
        set { lock.withLock { outcome = newValue } }
    }
    private var outcome = HTTPPing.Outcome.accepted
    private var handedPings = [HTTPPing]()
    private var malformed = 0
    var pings: [HTTPPing] { lock.withLock { handedPings } }
    var malformedPings: Int { lock.withLock { malformed } }

    func submitPing(_ ping: HTTPPing) -> HTTPPing.Outcome {
        lock.withLock {
            handedPings.append(ping)
            return outcome
        }
    }

    func countMalformedPing() { lock.withLock { malformed += 1 } }

    /// Admits a ping as ``submitPing(_:)`` would decide it (application id 1), queueing nothing.
    func admitPing(_ ping: HTTPPing) -> HTTPIngestGate.Admission {
        lock.withLock {
            handedPings.append(ping)
            return outcome == .accepted ? .admitted(HTTPIngestGate.AdmittedPing(ping, applicationID: 1)) : .refused(outcome)
        }
    }

    /// Pings ``enqueuePing(_:)`` was handed.
    private(set) var enqueued: Int {
        get { lock.withLock { enqueuedCount } }
        set { lock.withLock { enqueuedCount = newValue } }
    }
    private var enqueuedCount = 0

    func enqueuePing(_ admitted: HTTPIngestGate.AdmittedPing) -> HTTPPing.Outcome {
        lock.withLock { enqueuedCount += 1 }
        return .accepted
    }

    var runHistory: Int { 100 }

    func publishNotification(_ payload: String) {
        lock.withLock { published.append(payload) }
    }
}
