import Collector
import Foundation

/// The application page's history (`GET /apps/{uuid}`): uptime over 24 hours, 7, 30 and 90 days;
/// a bar of the last 90 UTC days, a cell per day coloured by its uptime (hovering one shows the
/// figure and the downtime); and records and loss per minute over the last 24 hours from the
/// rollups. Server-rendered SVG with `<title>` tooltips: no script, nothing fetched from elsewhere.
/// One transitions read and one rollup read, through the history cache.
enum StatusPageHistory {
    static let days = 90
    static let chartMinutes: Int64 = 1_440
    static let windows: [(label: String, micros: Int64)] = [
        ("24 hours", 86_400_000_000), ("7 days", 7 * 86_400_000_000), ("30 days", 30 * 86_400_000_000), ("90 days", 90 * 86_400_000_000),
    ]

    /// What the section shows.
    struct Figures {
        /// Uptime over each of ``windows``, ending now.
        var windows: [(label: String, uptime: Uptime)]
        /// The last ``days`` UTC days, today (so far) last.
        var days: [(dayStartMicros: Int64, uptime: Uptime)]
        /// The last ``chartMinutes`` whole minutes, oldest first, from ``firstMinute`` (minutes
        /// since 1970-01-01 UTC).
        var minutes: [RollupSeries.Minute]
        var firstMinute: Int64
    }

    /// The section's HTML for application `applicationID`, through the history cache.
    static func section(_ shared: SidecarContext, applicationID: Int) async throws -> String {
        let body = try await shared.history(key: "page history \(applicationID)") {
            let now = ReadCache.nowMicros()
            let figures = try await load(shared, applicationID: applicationID, nowMicros: now)
            return Array(render(figures).utf8)
        }
        return String(decoding: body, as: UTF8.self)
    }

    /// Reads the transitions of the last 90 days and the rollups of the last day (and the day
    /// before it, the lookback for loss) in one history read.
    static func load(_ shared: SidecarContext, applicationID: Int, nowMicros: Int64) async throws -> Figures {
        let longest = windows.map(\.micros).max()!
        let nowMinute = nowMicros / RollupStore.microsPerMinute
        let (history, rows) = try await shared.historyReads.run { connection in
            (
                try ApplicationStore.statusHistory(applicationID: applicationID, fromMicros: nowMicros - longest, toMicros: nowMicros, on: connection),
                try RollupStore.minuteRows(applicationID: applicationID, fromMinute: nowMinute - chartMinutes, toMinute: nowMinute, on: connection)
            )
        }
        return figures(statusAtStart: history.statusAtStart, changes: history.changes, rows: rows, nowMicros: nowMicros)
    }

    /// The figures from the transitions since 90 days ago (and the status before them) and the
    /// minute rows. Pure.
    static func figures(statusAtStart: LivenessStatus, changes: [Uptime.Change], rows: [RollupSeries.Row], nowMicros: Int64) -> Figures {
        let longest = windows.map(\.micros).max()!
        let start = nowMicros - longest
        let microsPerDay: Int64 = 86_400_000_000
        let firstDay = (nowMicros / microsPerDay - Int64(days - 1)) * microsPerDay
        let nowMinute = nowMicros / RollupStore.microsPerMinute
        return Figures(
            windows: windows.map { window in
                (window.label, Uptime.over(fromMicros: nowMicros - window.micros, toMicros: nowMicros, statusAtStart: statusAtStart, changes: changes))
            },
            days: Uptime.daily(fromMicros: max(firstDay, start), toMicros: nowMicros, statusAtStart: statusAtStart, changes: changes),
            minutes: RollupSeries.perMinute(rows, fromMinute: nowMinute - chartMinutes, toMinute: nowMinute), firstMinute: nowMinute - chartMinutes)
    }

    static func render(_ figures: Figures) -> String {
        var html = "<h2>Uptime</h2>\n<div class=\"figures\">"
        for (label, uptime) in figures.windows {
            html += "<div class=\"figure\"><span class=\"muted\">\(label)</span> <b>\(uptime.ratio.map(Badge.percent) ?? "—")</b>"
                + (uptime.downMicros > 0 ? " <span class=\"muted\">down \(StatusPage.duration(uptime.downMicros))</span>" : "") + "</div>"
        }
        html += "</div>\n" + dayBar(figures.days)
        html += "<p class=\"muted\">late counts as up; time paused, or before the first heartbeat, does not count</p>\n"
        return html + minuteChart(figures.minutes, firstMinute: figures.firstMinute)
    }

    /// The cell colour of a day with `ratio` (nil: nothing counted).
    static func colour(_ ratio: Double?) -> String {
        ratio.map { Badge.band($0).hex } ?? "#d5d8dc"
    }

    /// A cell per day, 8 units wide with 2 between, each with its figure as a tooltip.
    static func dayBar(_ days: [(dayStartMicros: Int64, uptime: Uptime)]) -> String {
        let width = max(1, days.count * 10 - 2)
        var svg = "<svg class=\"days\" viewBox=\"0 0 \(width) 34\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"uptime of each of the last \(days.count) days\">"
        for (index, day) in days.enumerated() {
            let date = String(CivilCalendar.rfc3339(micros: day.dayStartMicros).prefix(10))
            let figure = day.uptime.ratio.map { "\(Badge.percent($0)) up" + (day.uptime.downMicros > 0 ? ", down \(StatusPage.duration(day.uptime.downMicros))" : "") } ?? "no data"
            svg += "<rect x=\"\(index * 10)\" width=\"8\" height=\"34\" rx=\"1.5\" fill=\"\(colour(day.uptime.ratio))\"><title>\(date): \(figure)</title></rect>"
        }
        svg += "</svg>"
        return svg + "<div class=\"axis muted\"><span>\(days.count) days ago</span><span>today</span></div>\n"
    }

    /// Records per minute as a filled line (scaled to the busiest minute), and minutes with loss
    /// as red marks below it, each with its count as a tooltip.
    static func minuteChart(_ minutes: [RollupSeries.Minute], firstMinute: Int64) -> String {
        let records = minutes.reduce(0) { $0 + $1.records }, lost = minutes.reduce(0) { $0 + $1.lost }
        let peak = max(1, minutes.map(\.records).max() ?? 0)
        var html = "<h2>Records per minute, last 24 hours</h2>\n"
        html += "<p class=\"muted\">\(records) records, \(lost) lost" + (records + lost > 0 ? String(format: " (%.2f %%)", Double(lost) * 100 / Double(records + lost)) : "")
            + "; busiest minute \(minutes.map(\.records).max() ?? 0) (each minute's counts are written when it ends)</p>\n"
        var path = "M0 60"
        for (index, minute) in minutes.enumerated() {
            path += "L\(index) \(60 - Int(minute.records * 56 / peak))"
        }
        path += "L\(minutes.count) 60Z"
        html += "<svg class=\"chart\" viewBox=\"0 0 \(max(1, minutes.count)) 74\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"records and loss per minute\">"
        html += "<path d=\"\(path)\" fill=\"#9cc3ea\" stroke=\"#1a56a6\" stroke-width=\"1\" vector-effect=\"non-scaling-stroke\"/>"
        for (index, minute) in minutes.enumerated() where minute.lost > 0 {
            html += "<rect x=\"\(index)\" y=\"64\" width=\"2\" height=\"10\" fill=\"#c62828\"><title>\(StatusPage.time((firstMinute + Int64(index)) * RollupStore.microsPerMinute).dropLast(7)) UTC: \(minute.lost) lost of \(minute.records + minute.lost)</title></rect>"
        }
        html += "</svg>"
        return html + "<div class=\"axis muted\"><span>24 h ago</span><span>now</span></div>\n"
    }
}
