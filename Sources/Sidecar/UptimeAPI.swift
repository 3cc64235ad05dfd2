import Collector
import Foundation
import Hummingbird

/// `GET /v1/apps/{uuid}/uptime`: exact uptime over a window from the application's transitions
/// (``Uptime``), with a per-day series on request. A history read through the exact 1-second
/// cache, never part of `GET /v1/apps` (whose answers come from memory).
enum UptimeAPI {
    static let windows: [String: Int64] = ["24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400, "90d": 90 * 86_400]

    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/v1/apps/:uuid/uptime") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let window = try window(request, nowMicros: ReadCache.nowMicros())
            let daily = try series(request)
            return try await shared.cachedRead(request, key: "uptime \(uuid) \(window.from) \(window.to) \(daily)") {
                let history = try await shared.historyReads.run { connection in
                    guard let record = try ApplicationStore.get(uuid, on: connection) else { throw APIError.notFound("no application \(uuid)") }
                    return try ApplicationStore.statusHistory(applicationID: record.id, fromMicros: window.from, toMicros: window.to, on: connection)
                }
                let whole = Uptime.over(fromMicros: window.from, toMicros: window.to, statusAtStart: history.statusAtStart, changes: history.changes)
                let days = daily ? Uptime.daily(fromMicros: window.from, toMicros: window.to, statusAtStart: history.statusAtStart, changes: history.changes) : nil
                return encode(whole, from: window.from, to: window.to, days: days)
            }
        }
    }

    /// The answer's JSON (`UptimeFigures` in `openapi.yaml`), written directly: the 90-day series
    /// through JSONSerialization cost more than reading and computing it.
    static func encode(_ uptime: Uptime, from: Int64, to: Int64, days: [(dayStartMicros: Int64, uptime: Uptime)]?) -> [UInt8] {
        var text = "{" + figures(uptime) + ",\"from\":\"\(APIModels.timestamp(from))\",\"to\":\"\(APIModels.timestamp(to))\""
        if let days {
            text.reserveCapacity(text.utf8.count + days.count * 160)
            text += ",\"days\":["
            for (index, day) in days.enumerated() {
                if index > 0 { text += "," }
                text += "{\"day\":\"\(CivilCalendar.rfc3339(micros: day.dayStartMicros).prefix(10))\"," + figures(day.uptime) + "}"
            }
            text += "]"
        }
        return Array((text + "}").utf8)
    }

    /// The figures of one window as JSON members: the ratio (null when nothing counted) and the
    /// time in each status, in milliseconds.
    static func figures(_ uptime: Uptime) -> String {
        "\"uptime\":\(uptime.ratio.map { "\($0)" } ?? "null"),\"up_ms\":\(uptime.upMicros / 1_000),\"late_ms\":\(uptime.lateMicros / 1_000),\"short_ms\":\(uptime.shortMicros / 1_000),"
            + "\"down_ms\":\(uptime.downMicros / 1_000),\"paused_ms\":\(uptime.pausedMicros / 1_000),\"new_ms\":\(uptime.newMicros / 1_000),"
            + "\"counted_ms\":\(uptime.countedMicros / 1_000)"
    }

    /// `?window=24h|7d|30d|90d` (ending now), or `?from=&to=` (RFC 3339 or Unix µs; `to` defaults to
    /// now and is never later than now; at most 3650 days). Default: the last 24 hours.
    static func window(_ request: Request, nowMicros: Int64) throws(APIError) -> (from: Int64, to: Int64) {
        let parameters = request.uri.queryParameters
        if let name = parameters.get("window") {
            guard parameters.get("from") == nil, parameters.get("to") == nil else { throw APIError.badRequest("window: give window or from/to, not both") }
            guard let seconds = windows[name] else { throw APIError.badRequest("window: one of 24h, 7d, 30d, 90d") }
            return (nowMicros - seconds * 1_000_000, nowMicros)
        }
        let to = min(try SidecarContext.timestamp(request, "to") ?? nowMicros, nowMicros)
        let from = try SidecarContext.timestamp(request, "from") ?? to - 86_400_000_000
        guard from < to else { throw APIError.badRequest("from: must be before to (and before now)") }
        guard to - from <= 3_650 * 86_400_000_000 else { throw APIError.badRequest("to: the window is at most 3650 days") }
        return (from, to)
    }

    /// `?series=daily` adds the per-day series; nothing else is accepted.
    static func series(_ request: Request) throws(APIError) -> Bool {
        guard let value = request.uri.queryParameters.get("series") else { return false }
        guard value == "daily" else { throw APIError.badRequest("series: only daily") }
        return true
    }
}
