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
    /// What is down, for a 503 (empty when ready).
    let down: [String]

    init(_ pipeline: IngestPipeline) {
        let postgresUp = pipeline.databaseProbe.isReachable
        let hot = pipeline.hotStateMetrics
        let redisConfigured = pipeline.configuration.redisURL != nil
        let redisUp = hot.redisReachable.load(ordering: .relaxed)
        postgres = postgresUp ? "up" : "down"
        let storageStalled = pipeline.isStorageStalled
        storage = storageStalled ? "stalled" : "ok"
        redis = redisConfigured ? (redisUp ? "up" : "down") : "not_configured"
        if !pipeline.configuration.monitor {
            monitor = "off"
        } else if !redisConfigured {
            monitor = "alone"
        } else if hot.isLeader.load(ordering: .relaxed) {
            monitor = "leader"
        } else if hot.degraded.load(ordering: .relaxed) {
            monitor = "degraded"
        } else {
            monitor = "follower"
        }
        down = (postgresUp ? [] : ["postgres"]) + (storageStalled ? ["storage"] : []) + (redisConfigured && !redisUp ? ["redis"] : [])
        ready = down.isEmpty
    }
}
