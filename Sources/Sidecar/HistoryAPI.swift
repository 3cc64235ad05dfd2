import Collector
import Foundation
import Hummingbird
import Protocol

/// The history read side of the API — an application's events, transitions and recent loss —
/// answered by PostgreSQL through the exact 1-second cache (``SidecarContext/cachedRead(_:key:contentType:produce:)``).
enum HistoryAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/v1/apps/:uuid/events") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let limit = try SidecarContext.integer(request, "limit", default: 100, range: 1...1_000)
            let before = try SidecarContext.timestamp(request, "before")
            return try await shared.cachedRead(request, key: "events \(uuid) limit=\(limit) before=\(before.map(String.init) ?? "")") {
                let events = try await shared.historyReads.run { connection in
                    guard let events = try ApplicationStore.events(uuid, limit: limit, beforeMicros: before, on: connection) else {
                        throw APIError.notFound("no application \(uuid)")
                    }
                    return events
                }
                return APIModels.encodeEvents(events, nextBefore: events.count == limit ? events.last!.receivedAtMicros : nil)
            }
        }
        router.get("/v1/apps/:uuid/transitions") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let limit = try SidecarContext.integer(request, "limit", default: 100, range: 1...1_000)
            return try await shared.cachedRead(request, key: "transitions \(uuid) limit=\(limit)") {
                let transitions = try await shared.historyReads.run { connection in
                    guard let transitions = try ApplicationStore.transitions(uuid, limit: limit, on: connection) else {
                        throw APIError.notFound("no application \(uuid)")
                    }
                    return transitions
                }
                return APIModels.encode(["transitions": transitions.map(APIModels.transition)])
            }
        }
        // Loss comes from the merged rollups: history, not live status.
        router.get("/v1/apps/:uuid/loss") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let window = try lossWindow(request)
            return try await shared.cachedRead(request, key: "loss \(uuid) \(window.fromMinute) \(window.toMinute)") {
                let (lastHour, inWindow) = try await shared.historyReads.run { connection in
                    guard let record = try ApplicationStore.get(uuid, on: connection) else { throw APIError.notFound("no application \(uuid)") }
                    let lastHour = try ApplicationStore.recordsLostLastHour(applicationID: record.id, on: connection)
                    let inWindow = try RollupStore.loss(
                        applicationID: record.id, fromMinute: window.fromMinute, toMinute: window.toMinute, on: connection)
                    return (lastHour, inWindow)
                }
                return APIModels.encode([
                    "records_lost_last_hour": lastHour,
                    "from": APIModels.timestamp(window.fromMinute * RollupStore.microsPerMinute),
                    "to": APIModels.timestamp(window.toMinute * RollupStore.microsPerMinute),
                    "records_lost": inWindow.loss.lost,
                    "records_expected": inWindow.loss.expected,
                    "records_sequenced": inWindow.loss.received,
                    "loss_ratio": inWindow.loss.ratio,
                    "instances": inWindow.instances,
                    "records": [
                        "total": inWindow.counts.records, "beat": inWindow.counts.beats, "start": inWindow.counts.starts,
                        "success": inWindow.counts.successes, "fail": inWindow.counts.fails, "stop": inWindow.counts.stops,
                    ],
                ])
            }
        }
    }

    /// `?from=&to=` (RFC 3339 or Unix µs) in whole minutes — `from` rounded down, `to` up —
    /// at most the rollups' longest retention; without them, the last hour up to now.
    static func lossWindow(_ request: Request) throws(APIError) -> (fromMinute: Int64, toMinute: Int64) {
        let nowMinute = ReadCache.nowMicros() / RollupStore.microsPerMinute
        let toMicros = try SidecarContext.timestamp(request, "to")
        let fromMicros = try SidecarContext.timestamp(request, "from")
        let toMinute = toMicros.map { ($0 + RollupStore.microsPerMinute - 1) / RollupStore.microsPerMinute } ?? nowMinute + 1
        let fromMinute = fromMicros.map { $0 / RollupStore.microsPerMinute } ?? toMinute - 60
        guard fromMinute < toMinute else { throw APIError.badRequest("from: must be before to") }
        guard toMinute - fromMinute <= 3_650 * 1_440 else { throw APIError.badRequest("to: the window is at most 3650 days") }
        return (fromMinute, toMinute)
    }
}
