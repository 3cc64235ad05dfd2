import Collector
import ThreadSafety

/// Keeps this collector's answers consistent across a registry write made through the API
/// (create, change, delete, pause, resume). Status reads come from memory and history reads from
/// PostgreSQL, so for a moment after the write commits PostgreSQL would know more than memory: a
/// pause visible in `/transitions` while `/v1/apps/{uuid}` still said `up`. So a write holds the
/// gate from before it starts until the collector's registry and liveness view carry its version
/// (the writer then reads its own change), and history reads wait while the gate is held.
final class RegistryWriteGate: Sendable {
    private let collector: any SidecarCollector
    private let writesInFlight = Locked(0)
    /// How long a write waits for memory to catch up before it answers anyway (PostgreSQL slow,
    /// the monitor stalled): its change is then visible within a registry poll period or two.
    static let catchUpLimitMillis = 5_000

    init(collector: any SidecarCollector) {
        self.collector = collector
    }

    /// Runs `write` (which returns its result and the registry version after it), then waits until
    /// memory has that version.
    func write<Result: Sendable>(_ write: () async throws -> (Result, registryVersion: Int64)) async throws -> Result {
        writesInFlight.withLock { $0 += 1 }
        defer { writesInFlight.withLock { $0 -= 1 } }
        let (result, version) = try await write()
        collector.checkRegistryNow()
        var waited = 0
        while !caughtUp(to: version), waited < Self.catchUpLimitMillis {
            try? await Task.sleep(for: .milliseconds(2))
            waited += 2
        }
        return result
    }

    /// Whether the registry and the liveness view in memory hold `version` or later.
    private func caughtUp(to version: Int64) -> Bool {
        let live = collector.liveStatus()
        guard live.registry.version >= version else { return false }
        // Without a monitor there is no board to wait for.
        return live.view.source == .lastSeenOnly || live.view.registryVersion >= version
    }

    /// Returns once no write is in flight (or after the same limit).
    func awaitSettled() async {
        var waited = 0
        while writesInFlight.withLock({ $0 }) > 0, waited < Self.catchUpLimitMillis {
            try? await Task.sleep(for: .milliseconds(2))
            waited += 2
        }
    }
}
