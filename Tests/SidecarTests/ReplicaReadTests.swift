import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
@testable import Sidecar
import Testing

/// History reads through a streaming replica (`--database-read-url`): the routing rules as a
/// table, and a real standby of the throwaway PostgreSQL (`scripts/services up --replica`) read
/// through, fallen back from while it lags and while it is stopped.
@Suite("HTTP sidecar: read replica", .serialized)
struct ReplicaReadTests {
    typealias Observation = ReplicaRouting.Observation

    @Test("a read goes to the replica only while it answers, is a standby, and is at most max-age behind (its lag aging with the observation)")
    func routeTable() {
        let fresh = Observation(atMicros: 10_000_000, replicaReachable: true, replicaInRecovery: true, primaryReachable: true, lagMicros: 200_000)
        func with(_ change: (inout Observation) -> Void) -> Observation {
            var observation = fresh
            change(&observation)
            return observation
        }
        let table: [(Observation?, Int64, ReplicaRouting.Route)] = [
            (nil, 10_000_000, .primary(.unreachable)),
            (fresh, 10_000_000, .replica),
            (fresh, 10_800_000, .replica),  // 0.2 s + 0.8 s of age: exactly max-age
            (fresh, 10_800_001, .primary(.lagging)),  // the monitor stalled: the figure ages
            (with { $0.lagMicros = 1_000_001 }, 10_000_000, .primary(.lagging)),
            (with { $0.lagMicros = nil }, 10_000_000, .primary(.lagging)),
            (with { $0.replicaReachable = false }, 10_000_000, .primary(.unreachable)),
            (with { $0.replicaInRecovery = false }, 10_000_000, .primary(.notReplica)),
            (with { $0.primaryReachable = false; $0.lagMicros = nil }, 10_000_000, .replicaPrimaryDown),
            (with { $0.primaryReachable = false; $0.replicaReachable = false }, 10_000_000, .primary(.unreachable)),
        ]
        for (observation, now, route) in table {
            #expect(ReplicaRouting.route(observation, nowMicros: now, maxAgeMicros: 1_000_000) == route, "\(String(describing: observation)) at \(now)")
        }
        #expect(ReplicaRouting.Route.primary(.lagging).header == "primary; reason=replica-lagging")
    }

    @Test("the lag is the age of the newest primary position the replica has replayed, not the time since the primary last wrote")
    func freshness() {
        var freshness = ReplicaRouting.Freshness(capacity: 3)
        #expect(freshness.lagMicros(replayed: 100, nowMicros: 0) == nil, "no sample yet")
        freshness.record(atMicros: 1_000, primaryPosition: 100)
        freshness.record(atMicros: 2_000, primaryPosition: 100)  // idle primary
        #expect(freshness.lagMicros(replayed: 100, nowMicros: 2_100) == 100, "caught up with an idle primary: the sampling age")
        freshness.record(atMicros: 3_000, primaryPosition: 500)
        #expect(freshness.lagMicros(replayed: 100, nowMicros: 3_100) == 1_100, "behind the last write: since the last position it holds")
        #expect(freshness.lagMicros(replayed: 900, nowMicros: 3_100) == 100, "ahead of every sample")
        freshness.record(atMicros: 4_000, primaryPosition: 600)
        freshness.record(atMicros: 5_000, primaryPosition: 700)
        #expect(freshness.samples.count == 3)
        #expect(freshness.lagMicros(replayed: 100, nowMicros: 5_000) == nil, "behind every sample kept")
    }

    @Test("the replica's URL gets a connect timeout unless it sets one, in both libpq forms")
    func connectTimeout() {
        #expect(HistoryReads.boundingConnect("postgresql://u@h:5/db") == "postgresql://u@h:5/db?connect_timeout=2")
        #expect(HistoryReads.boundingConnect("postgres://u@h/db?sslmode=require") == "postgres://u@h/db?sslmode=require&connect_timeout=2")
        #expect(HistoryReads.boundingConnect("postgresql://u@h/db?connect_timeout=9") == "postgresql://u@h/db?connect_timeout=9")
        #expect(HistoryReads.boundingConnect("host=h dbname=db") == "host=h dbname=db connect_timeout=2")
    }

    /// Runs `scripts/services` with `arguments` (for at most two minutes); its standard output.
    func services(_ arguments: [String]) throws -> String {
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/timeout"), ["120", repositoryRoot.appendingPathComponent("scripts/services").path] + arguments)
        #expect(result.status == 0, "scripts/services \(arguments): \(result.standardError)")
        return result.standardOutput
    }

    @Test("history through a real standby: read from it while fresh, from the primary while its replay is paused and while it is stopped, each answer saying which")
    func throughStandby() async throws {
        let exports = try services(["up", "--replica"])
        defer { _ = try? services(["down", "replica"]) }
        let standby = try #require(
            exports.split(separator: "\n").first { $0.hasPrefix("export HEARTBEAT_REPLICA_URL=") }.map { String($0.split(separator: "'")[1]) },
            "scripts/services up --replica printed no HEARTBEAT_REPLICA_URL")
        try await RunningSidecar.with(configure: { configuration in
            // The standby holds the same databases: the test database's name on the standby's server.
            let server = String(standby[..<standby.lastIndex(of: "/")!]), database = String(configuration.databaseURL.split(separator: "/").last!)
            configuration.databaseReadURL = server + "/" + database
        }) { running in
            let readURL = try #require(running.pipeline.configuration.databaseReadURL)
            let id = try running.connection.query("SELECT id FROM application WHERE uuid = '\(running.application)'")[0][0]!
            func transition(_ to: String) throws {
                try running.connection.execute(
                    "INSERT INTO status_change (application_id, at, from_status, to_status, reason) VALUES ($1::integer, now(), 'new', $2, 'heartbeat')", [id, to])
            }
            // (source header, transitions listed) of the transitions route.
            func read() throws -> (source: String?, count: Int) {
                let answer = try httpRequest(port: running.port, "/v1/apps/\(running.application)/transitions")
                let listed = (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["transitions"] as? [Any]
                return (answer.headers["heartbeat-read-source"], listed?.count ?? -1)
            }
            func seen() -> String { (try? read()).map { "\($0)" } ?? "no answer" }
            try transition("up")
            #expect(try running.waitFor(20) { try read() == ("replica", 1) }, "\(seen())")
            let uptime = try httpRequest(port: running.port, "/v1/apps/\(running.application)/uptime")
            #expect(uptime.status == 200 && uptime.headers["heartbeat-read-source"] == "replica")

            // Replay paused: the primary moves on, the standby does not; past a second behind,
            // reads go to the primary and say why.
            let replica = try PostgresConnection(url: readURL)
            try replica.query("SELECT pg_wal_replay_pause()")
            try transition("down")
            #expect(try running.waitFor(10) { try read() == ("primary; reason=replica-lagging", 2) }, "\(seen())")
            #expect(try replica.query("SELECT count(*) FROM status_change") == [["1"]], "the standby really is behind")
            try replica.query("SELECT pg_wal_replay_resume()")
            #expect(try running.waitFor(10) { try read() == ("replica", 2) }, "\(seen())")

            // Stopped: reads go to the primary.
            _ = try services(["down", "replica"])
            #expect(try running.waitFor(10) { try read() == ("primary; reason=replica-unreachable", 2) }, "\(seen())")
            let metrics = try httpRequest(port: running.port, "/metrics").text
            #expect(metrics.contains("heartbeat_replica_up 0"))
            for source in [#"source="replica",reason="fresh""#, #"source="primary",reason="replica_lagging""#, #"source="primary",reason="replica_unreachable""#] {
                let line = metrics.split(separator: "\n").first { $0.hasPrefix("heartbeat_history_reads_total{\(source)}") }
                #expect(line.flatMap { Int($0.split(separator: " ").last ?? "") }.map { $0 > 0 } == true, "\(source): \(String(describing: line))")
            }
        }
    }
}
