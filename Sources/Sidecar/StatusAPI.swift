import Collector
import Foundation
import Hummingbird
import Protocol

/// The read side of the API: applications, one application, its events and transitions, the
/// summary. Every read goes through the context's short-lived cache and carries an ETag.
enum StatusAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/v1/apps") { request, _ in
            try shared.requireRead(request)
            var state: LivenessStatus?
            if let text = request.uri.queryParameters.get("state") {
                guard let status = LivenessStatus(label: text) else { throw APIError.badRequest("state: \(text) is not one of new, up, late, down, paused") }
                state = status
            }
            let prefix = request.uri.queryParameters.get("prefix")
            let limit = try SidecarContext.integer(request, "limit", default: 100, range: 1...1_000)
            var cursorID = 0
            if let cursor = request.uri.queryParameters.get("cursor") {
                guard let value = Int(cursor), value >= 0 else { throw APIError.badRequest("cursor: not a cursor this API returned") }
                cursorID = value
            }
            let after = cursorID
            let wanted = state
            let key = "apps state=\(state?.description ?? "") limit=\(limit) cursor=\(after) prefix=\(prefix ?? "")"
            return try await shared.cachedRead(request, key: key) {
                let page = try await shared.database.run { connection in
                    try ApplicationStore.list(status: wanted, namePrefix: prefix, afterID: after, limit: limit + 1, on: connection)
                }
                let shown = page.prefix(limit)
                let next: Any = page.count > limit ? String(shown.last!.id) : NSNull()
                return APIModels.encode(["apps": shown.map { APIModels.application($0) }, "next_cursor": next])
            }
        }
        router.get("/v1/apps/:uuid") { request, context in
            try shared.requireRead(request)
            let uuid = try applicationUUID(context)
            return try await shared.cachedRead(request, key: "app \(uuid)") {
                let (record, lost) = try await shared.database.run { connection -> (ApplicationRecord, Int64) in
                    guard let record = try ApplicationStore.get(uuid, on: connection) else { throw APIError.notFound("no application \(uuid)") }
                    return (record, try ApplicationStore.recordsLostLastHour(applicationID: record.id, on: connection))
                }
                return APIModels.encode(APIModels.application(record, recordsLost: lost))
            }
        }
        router.get("/v1/apps/:uuid/events") { request, context in
            try shared.requireRead(request)
            let uuid = try applicationUUID(context)
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
            let uuid = try applicationUUID(context)
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
        router.get("/v1/summary") { request, _ in
            try shared.requireRead(request)
            return try await shared.cachedRead(request, key: "summary") {
                let counts = try await shared.database.run { try ApplicationStore.summary(on: $0) }
                var object: [String: Any] = counts
                object["total"] = counts.values.reduce(0, +)
                return APIModels.encode(object)
            }
        }
    }

    /// The `{uuid}` path parameter, or 400.
    static func applicationUUID(_ context: BasicRequestContext) throws -> ApplicationUUID {
        guard let text = context.parameters.get("uuid"), let uuid = ApplicationUUID(text) else {
            throw APIError.badRequest("not an application UUID: \(context.parameters.get("uuid") ?? "")")
        }
        return uuid
    }
}
