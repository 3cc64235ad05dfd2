import Collector

/// `/readyz`: ready (200) only when PostgreSQL answers, storage is not stalled (rows waiting 30 s
/// with no commit) and, if configured, Redis answers; otherwise 503.
/// The JSON body names each dependency's state either way, and the monitor's role.
struct Readiness: Encodable {
    let ready: Bool
    let postgres: String
    /// `ok`, or `stalled` while rows have waited 30 s with no commit.
    let storage: String
    let redis: String
    let monitor: String
    /// The incident holding notifications, if any (`Spec/liveness.md`, "Incident hold"): shown,
    /// not a reason for 503 — the collector is working; it suspects the network or its own input.
    let incident: Incident?
    /// What is down, for a 503 (empty when ready).
    let down: [String]

    struct Incident: Encodable {
        let cause: String
        let since: String
    }

    init(_ snapshot: CollectorSnapshot) {
        postgres = snapshot.postgresUp ? "up" : "down"
        storage = snapshot.storage.stalled ? "stalled" : "ok"
        redis = snapshot.hotState.configured ? (snapshot.hotState.redisUp ? "up" : "down") : "not_configured"
        monitor = snapshot.monitor.role
        incident = snapshot.monitor.openIncident.map { Incident(cause: $0.cause, since: CivilCalendar.rfc3339(micros: $0.since)) }
        down = snapshot.notReady
        ready = down.isEmpty
    }
}
