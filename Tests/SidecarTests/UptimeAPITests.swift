import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar
import Testing

/// `GET /v1/apps/{uuid}/uptime` over real HTTP and PostgreSQL: exact figures from stored
/// transitions, the per-day series, named windows, and the 4xx cases.
@Suite("HTTP sidecar: uptime", .serialized)
struct UptimeAPITests {
    func object(_ result: HTTPResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any], "\(result.text)")
    }

    @Test("exact uptime over a window from stored transitions, with a daily series; named windows; bad windows are 400, unknown apps 404")
    func uptime() async throws {
        try await RunningSidecar.with { running in
            let uuid = running.application
            let id = try running.connection.query("SELECT id FROM application WHERE uuid = '\(uuid)'")[0][0]!
            // Days before today, whole days: up from 10 days ago, down for 6 hours 3 days ago, paused for the day 2 days ago.
            let midnight = Int64(Date().timeIntervalSince1970) / 86_400 * 86_400_000_000
            let hour: Int64 = 3_600_000_000
            let day = 24 * hour
            let rows: [(Int64, String, String)] = [
                (midnight - 10 * day, "new", "up"), (midnight - 3 * day + 6 * hour, "up", "down"), (midnight - 3 * day + 12 * hour, "down", "up"),
                (midnight - 2 * day, "up", "paused"), (midnight - day, "paused", "up"),
            ]
            for (at, from, to) in rows {
                try running.connection.execute("""
                    INSERT INTO status_change (application_id, at, from_status, to_status, reason)
                    VALUES ($1::integer, 'epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3, $4, 'heartbeat')
                    """, [id, String(at), from, to])
            }
            let from = midnight - 4 * day, to = midnight
            let answer = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/uptime?from=\(from)&to=\(to)&series=daily"))
            #expect(answer["down_ms"] as? Int == Int(6 * hour / 1_000) && answer["paused_ms"] as? Int == Int(day / 1_000))
            #expect(answer["counted_ms"] as? Int == Int(3 * day / 1_000))
            #expect(answer["uptime"] as? Double == 1 - 6.0 / 72.0)
            let days = try #require(answer["days"] as? [[String: Any]])
            #expect(days.count == 4)
            #expect(days.map { $0["down_ms"] as? Int } == [0, Int(6 * hour / 1_000), 0, 0])
            #expect(days[1]["uptime"] as? Double == 0.75 && days[2]["uptime"] is NSNull, "the paused day has no figure")
            #expect(days.first?["day"] as? String == String(CivilCalendar.rfc3339(micros: from).prefix(10)))

            let week = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/uptime?window=7d"))
            #expect(week["down_ms"] as? Int == Int(6 * hour / 1_000) && week["days"] == nil)
            let before = try object(try httpRequest(port: running.port, "/v1/apps/\(uuid)/uptime?from=\(midnight - 20 * day)&to=\(midnight - 15 * day)"))
            #expect(before["uptime"] is NSNull && before["new_ms"] as? Int == Int(5 * day / 1_000), "before its first heartbeat: new, not counted")
            for bad in ["window=1y", "window=7d&from=0", "from=\(to)&to=\(from)", "series=weekly", "from=yesterday"] {
                #expect(try httpRequest(port: running.port, "/v1/apps/\(uuid)/uptime?\(bad)").status == 400, "\(bad)")
            }
            #expect(try httpRequest(port: running.port, "/v1/apps/\(ApplicationUUID.random())/uptime").status == 404)
        }
    }
}
