import Atomics
import Protocol

/// How records reach the collector: the `transport` label of the per-transport counters. Each has
/// its own rings, so every count can be kept per transport and `received = accepted + Σ rejected`
/// holds for each as it does in all.
public enum IngestTransport: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Datagrams on the UDP port.
    case udp = 0
    /// Wire-format records posted to `/v1/heartbeats`.
    case httpRecords = 1
    /// HTTP pings (`/ping/{uuid}`).
    case httpPing = 2

    /// The metric label.
    public var description: String {
        switch self {
        case .udp: "udp"
        case .httpRecords: "http_records"
        case .httpPing: "http_ping"
        }
    }

    /// Whether its rows were checked in full before they were queued (key and budget; no sequence
    /// number to replay-check), so the drain takes them as they are.
    var isPrechecked: Bool { self == .httpPing }
}

/// What the drain decided per transport (accepted, and the refusals only it makes), published
/// once per pass like its totals.
public final class DrainTransportCounts: Sendable {
    /// The drain's own tallies, one per transport (plain memory on its thread).
    struct Tally {
        var accepted: UInt64 = 0
        var replays: UInt64 = 0
        var rateLimited: UInt64 = 0
        var instanceLimited: UInt64 = 0
    }

    private let counters: [[ManagedAtomic<UInt64>]] = IngestTransport.allCases.map { _ in (0..<4).map { _ in ManagedAtomic<UInt64>(0) } }

    public init() {}

    func publish(_ tallies: [Tally]) {
        for (index, tally) in tallies.enumerated() {
            for (slot, value) in [tally.accepted, tally.replays, tally.rateLimited, tally.instanceLimited].enumerated() {
                counters[index][slot].store(value, ordering: .relaxed)
            }
        }
    }

    /// Rows of `transport` the drain accepted.
    public func accepted(_ transport: IngestTransport) -> UInt64 { counters[transport.rawValue][0].load(ordering: .relaxed) }

    /// Rows of `transport` the drain refused for `reason` (replay, rate_limited or instance_limit; 0 for others).
    public func rejected(_ transport: IngestTransport, _ reason: RejectionReason) -> UInt64 {
        let slot: Int
        switch reason {
        case .replay: slot = 1
        case .rateLimited: slot = 2
        case .instanceLimit: slot = 3
        default: return 0
        }
        return counters[transport.rawValue][slot].load(ordering: .relaxed)
    }
}
