import Atomics
import Collector
import Foundation
import HTTPTypes
import Protocol
import ThreadSafety

/// The sidecar's side of provisioning by ping (``PingProvisioning``): the provisioning key, the
/// budget and cap UDP auto-registration has, and the creation itself through the registry write
/// gate, so the ping that created an application is taken by it.
final class PingProvisioner: Sendable {
    typealias Settings = PingProvisioningSettings

    /// Every outcome of a `?create=1` ping for an unknown application (`heartbeat_ping_provisioning_total{outcome}`).
    enum Outcome: String, CaseIterable {
        case created, off, forbidden, invalid
        case overBudget = "over_budget"
        case atCap = "at_cap"
        case failed
    }

    private let settings: Settings?
    private let budget: Locked<PingProvisioning.Budget>
    /// One counter per ``Outcome``, in `allCases` order.
    private let counts = Outcome.allCases.map { _ in ManagedAtomic<UInt64>(0) }

    init(_ settings: Settings?) {
        self.settings = settings
        budget = Locked(PingProvisioning.Budget(perMinute: settings?.perMinute ?? 0))
    }

    /// The counts by outcome.
    var outcomeCounts: [(String, UInt64)] { zip(Outcome.allCases, counts).map { ($0.rawValue, $1.load(ordering: .relaxed)) } }

    private func count(_ outcome: Outcome) {
        counts[Outcome.allCases.firstIndex(of: outcome)!].wrappingIncrement(ordering: .relaxed)
    }

    /// Creates the unknown application `ping` names from `parameters`; nil when it was created (or
    /// already exists: the ping goes on), else the answer refusing it.
    func provision(_ ping: HTTPPing, parameters: [String: Substring], _ shared: SidecarContext) async -> SidecarContext.Reply? {
        func refuse(_ outcome: Outcome, _ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) -> SidecarContext.Reply {
            count(outcome)
            var reply = PingAPI.text(status, message)
            if let retryAfter { reply.headers[.retryAfter] = String(retryAfter) }
            return reply
        }
        guard let settings else {
            return refuse(.off, .notFound, "not found: no application \(ping.application); ?create=1 is off on this collector (--provision-key-file)")
        }
        guard let key = ping.key, SidecarContext.constantTimeEqual(key, settings.key) else {
            return refuse(.forbidden, .forbidden, "forbidden: ?create=1 needs the provisioning key (Authorization: Bearer, or ?key=)")
        }
        let request: PingProvisioning.Request
        do {
            request = try PingProvisioning.request(parameters)
        } catch {
            return refuse(.invalid, .badRequest, "bad request: \(error)")
        }
        if let wait = budget.withLock({ $0.take(nowMicros: ReadCache.nowMicros()) }) {
            return refuse(.overBudget, .tooManyRequests, "too many requests: at most \(settings.perMinute) applications a minute are created by ping", retryAfter: wait)
        }
        let maximum = settings.maximum
        let uuid = ping.application
        do {
            let created = try await shared.registryWrite { connection -> Bool in
                let existing = try connection.execute("SELECT count(*) AS provisioned FROM application WHERE provisioned").first?.int("provisioned") ?? maximum
                guard existing < maximum else { return false }
                _ = try ApplicationStore.create(
                    name: request.name, intervalMillis: request.intervalMillis, schedule: request.schedule, graceMillis: request.graceMillis,
                    maxRunMillis: nil, signed: false, uuid: uuid, provisioned: true, on: connection)
                return true
            }
            guard created else { return refuse(.atCap, .forbidden, "forbidden: \(maximum) applications were created by ping already (--auto-register-max)") }
        } catch let error as APIError where error.status == .conflict {
            return nil  // another request created it meanwhile (its UUID is taken): ping it
        } catch {
            return refuse(.failed, .serviceUnavailable, "service unavailable: the application could not be created (the database did not answer); retry", retryAfter: 5)
        }
        count(.created)
        return nil
    }
}

/// How provisioning by ping is set up (`--provision-key-file`; the budget and cap are
/// `--auto-register-per-minute` and `--auto-register-max`).
public struct PingProvisioningSettings: Sendable {
    public let key: String
    public let perMinute: Int
    public let maximum: Int

    public init(key: String, perMinute: Int, maximum: Int) {
        self.key = key
        self.perMinute = perMinute
        self.maximum = maximum
    }
}
