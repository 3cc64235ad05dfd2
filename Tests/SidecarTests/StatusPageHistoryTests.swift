import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
@testable import Sidecar
import Testing

/// The application page's history section: uptime figures, the 90-day bar and the per-minute
/// chart, rendered from figures (pure) and from stored transitions and rollups (real PostgreSQL).
@Suite("Status page: uptime and records per minute", .serialized)
struct StatusPageHistoryTests {
    static let day: Int64 = 86_400_000_000
    static let hour: Int64 = 3_600_000_000

    @Test("90 day cells coloured by band with their figure as a tooltip; a minute chart with a mark per minute with loss")
    func render() {
        let now = 1_796_083_200_000_000 + 12 * Self.hour  // 2026-12-01T12:00Z
        let changes = [
            Uptime.Change(atMicros: now - 10 * Self.day, to: .up), Uptime.Change(atMicros: now - 3 * Self.day, to: .down),
            Uptime.Change(atMicros: now - 3 * Self.day + 6 * Self.hour, to: .up),
        ]
        let nowMinute = now / 60_000_000
        let rows = [
            RollupSeries.Row(instance: 1, minute: nowMinute - 3, records: 60, sequenced: 60, seqMin: 1, seqMax: 60),
            RollupSeries.Row(instance: 1, minute: nowMinute - 2, records: 50, sequenced: 50, seqMin: 61, seqMax: 120),
        ]
        let figures = StatusPageHistory.figures(statusAtStart: .new, changes: changes, rows: rows, nowMicros: now)
        #expect(figures.days.count == 90 && figures.minutes.count == 1_440)
        #expect(figures.windows.map(\.label) == ["24 hours", "7 days", "30 days", "90 days"])
        #expect(figures.windows[0].uptime.ratio == 1 && figures.windows[1].uptime.downMicros == 6 * Self.hour)
        let html = StatusPageHistory.render(figures)
        #expect(html.components(separatedBy: "<rect x=").count - 1 == 90 + 1, "90 day cells and one minute with loss")
        #expect(html.contains("<title>2026-11-28: 75.00% up, down 6 h</title>") && html.contains("fill=\"#e05d44\""), "the day that was down a quarter: red")
        #expect(html.contains("<title>2026-11-20: no data</title>"), "before its first heartbeat")
        #expect(html.contains("<title>2026-11-30: 100% up</title>"))
        #expect(html.contains("110 records, 10 lost") && html.contains("<title>2026-12-01 11:58 UTC: 10 lost of 60</title>"), "\(html.suffix(600))")
        #expect(html.contains("<b>100%</b>") && html.contains("<b>96.42%</b>"), "24 hours up; 7 days: down 6 h of 7 days")
    }

    @Test("the application page shows uptime, the day bar and records per minute from stored transitions and rollups")
    func page() async throws {
        try await RunningSidecar.with { running in
            let id = try running.connection.query("SELECT id FROM application WHERE uuid = '\(running.application)'")[0][0]!
            let midnight = Int64(Date().timeIntervalSince1970) / 86_400 * Self.day
            for (at, to) in [(midnight - 3 * Self.day, "up"), (midnight - 2 * Self.day + 6 * Self.hour, "down"), (midnight - 2 * Self.day + 8 * Self.hour, "up")] {
                try running.connection.execute("""
                    INSERT INTO status_change (application_id, at, from_status, to_status, reason)
                    VALUES ($1::integer, 'epoch'::timestamptz + $2::bigint * interval '1 microsecond', 'new', $3, 'heartbeat')
                    """, [id, String(at), to])
            }
            // 25 hours ago (the lookback): numbers up to 50. Then two collectors' rows for one
            // minute (merged; 51-60 never came), and a minute with 3 numbers missing.
            let minute = Int64(Date().timeIntervalSince1970) / 60 - 4
            for (offset, records, low, high) in [(-1_496, 50, 1, 50), (0, 30, 61, 90), (0, 30, 91, 120), (1, 57, 121, 180)] {
                try running.connection.execute("""
                    INSERT INTO heartbeat_rollup_minute (application_id, instance, minute, beats, starts, successes, fails, stops, sequenced,
                        seq_min, seq_max, first_at, last_at, delay_min_us, delay_max_us)
                    VALUES ($1::integer, 7, to_timestamp($2::bigint * 60), $3::integer, 0, 0, 0, 0, $3::integer, $4::bigint, $5::bigint, now(), now(), 0, 0)
                    """, [id, String(minute + Int64(offset)), String(records), String(low), String(high)])
            }
            let page = try httpRequest(port: running.port, "/apps/\(running.application)")
            #expect(page.status == 200)
            let date = String(CivilCalendar.rfc3339(micros: midnight - 2 * Self.day).prefix(10))
            #expect(page.text.contains("<title>\(date): 91.66% up, down 2 h</title>"), "the day down 2 h of 24")
            #expect(page.text.contains("117 records, 13 lost"), "\(page.text.components(separatedBy: "Records per minute").last?.prefix(300) ?? "")")
            #expect(page.text.contains(": 10 lost of 70</title>") && page.text.contains(": 3 lost of 60</title>"), "the gap after the lookback's highest number")
            #expect(page.text.contains("<span class=\"muted\">24 hours</span> <b>100%</b>"))
        }
    }
}
