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
            var beforeMicros: Int64?
            if let text = request.uri.queryParameters.get("before") {
                guard let micros = APIModels.parseTimestamp(text) else { throw APIError.badRequest("before: not an RFC 3339 time or Unix microseconds") }
                beforeMicros = micros
            }
            let before = beforeMicros
            return try await shared.cachedRead(request, key: "events \(uuid) limit=\(limit) before=\(before.map(String.init) ?? "")") {
                let events = try await shared.database.run { connection in
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
                let transitions = try await shared.database.run { connection in
                    guard let transitions = try ApplicationStore.transitions(uuid, limit: limit, on: connection) else {
                        throw APIError.notFound("no application \(uuid)")
                    }
                    return transitions
                }
                return APIModels.encode(["transitions": transitions.map(APIModels.transition)])
            }
        }
        // Loss needs an hour of stored events: it is history, not live status.
        router.get("/v1/apps/:uuid/loss") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            return try await shared.cachedRead(request, key: "loss \(uuid)") {
                let lost = try await shared.database.run { connection -> Int64 in
                    guard let record = try ApplicationStore.get(uuid, on: connection) else { throw APIError.notFound("no application \(uuid)") }
                    return try ApplicationStore.recordsLostLastHour(applicationID: record.id, on: connection)
                }
                return APIModels.encode(["records_lost_last_hour": lost])
            }
        }
    }
}
