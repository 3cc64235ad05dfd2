import Atomics
import Foundation
import Protocol

/// Registers applications the receivers do not know, when auto-registration is switched on: a
/// background thread collects the unknown UUIDs the receivers report, and inserts them (unsigned,
/// named `auto-registered`, `auto_registered = true`) at most `perMinute` a minute and at most
/// `maximum` in all (counting those not yet named by an operator), so a flood of random UUIDs can
/// fill neither the registry nor anyone's pager: they send no notifications until named. The
/// registry follower then picks them up like any other change; until then their records are
/// counted as `unknown_app`.
final class AutoRegistrar: @unchecked Sendable {
    private let rings: [SPSCRing<ApplicationUUID>]
    private let registry: RegistryHolder
    private let databaseURL: String
    private let perMinute: Int
    private let maximum: Int
    let worker = WorkerThread()
    /// Applications inserted.
    let registered = ManagedAtomic<UInt64>(0)
    /// Unknown UUIDs not registered because the per-minute budget was spent.
    let skippedOverBudget = ManagedAtomic<UInt64>(0)
    /// Unknown UUIDs not registered because `maximum` unnamed auto-registered applications exist.
    let skippedAtCap = ManagedAtomic<UInt64>(0)

    init(rings: [SPSCRing<ApplicationUUID>], registry: RegistryHolder, databaseURL: String, perMinute: Int, maximum: Int) {
        self.maximum = maximum
        self.rings = rings
        self.registry = registry
        self.databaseURL = databaseURL
        self.perMinute = perMinute
    }

    func run() {
        let scratch = UnsafeMutablePointer<ApplicationUUID>.allocate(capacity: 4_096)
        defer { scratch.deallocate() }
        var connection: PostgresConnection?
        var budget = perMinute
        var budgetRefilledAt = DispatchTime.now().uptimeNanoseconds
        var pending = Set<ApplicationUUID>()
        while !worker.isStopRequested {
            usleep(200_000)
            let now = DispatchTime.now().uptimeNanoseconds
            if now &- budgetRefilledAt >= 60_000_000_000 {
                budget = perMinute
                budgetRefilledAt = now
            }
            for ring in rings {
                let count = ring.pop(into: scratch, maximum: 4_096)
                for index in 0..<count { pending.insert(scratch[index]) }
            }
            let table = registry.snapshot.validator.applications
            pending = pending.filter { table.entry(for: $0) == nil }
            guard !pending.isEmpty else { continue }
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                let existing = try connection!.execute("SELECT count(*) AS unnamed FROM application WHERE auto_registered").first?.int("unnamed") ?? maximum
                let room = max(0, min(budget, maximum - existing))
                let chosen = Array(pending.prefix(room))
                if chosen.count < pending.count {
                    let skipped = UInt64(pending.count - chosen.count)
                    (room < budget ? skippedAtCap : skippedOverBudget).wrappingIncrement(by: skipped, ordering: .relaxed)
                }
                pending.removeAll(keepingCapacity: true)
                guard !chosen.isEmpty else { continue }
                let inserted = try connection!.execute(
                    """
                    INSERT INTO application (uuid, name, auto_registered)
                    SELECT uuid, 'auto-registered', true FROM unnest($1::uuid[]) AS t (uuid)
                    ON CONFLICT (uuid) DO NOTHING RETURNING id
                    """, [PostgresConnection.arrayParameter(chosen.map { "\($0)" })])
                registered.wrappingIncrement(by: UInt64(inserted.rows.count), ordering: .relaxed)
                budget -= chosen.count
            } catch {
                connection = nil
                // They are reported again by their next records.
            }
        }
    }
}

extension AutoRegistrar: ThreadedService {
    var threadName: String { "heartbeat-autoregister" }
    var serviceName: String { "auto-registrar" }
}
