import Collector
import Foundation
import Hummingbird

/// `/v1/channels`, behind the admin token: notification channels as data (create, list, read,
/// change, delete) and `POST /v1/channels/{id}/test`, which sends a test notification now and
/// answers with the outcome. A channel's secret is written, never read back (`secret_set`).
enum ChannelAPI {
    static let fields: Set<String> = [
        "kind", "name", "settings", "secret", "enabled", "events", "labels", "title_template", "body_template",
    ]

    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.post("/v1/channels") { request, _ -> Response in
            try shared.requireAdmin(request)
            let (body, _, _) = try await SidecarContext.jsonBody(request, as: ChannelBody.self, allowed: fields)
            guard let kind = body.kind else { throw APIError.badRequest("kind: required") }
            guard let name = body.name else { throw APIError.badRequest("name: required") }
            let channel = NotificationChannel(
                kind: kind, name: name, settings: body.settings ?? [:], secret: body.secret, enabled: body.enabled ?? true,
                events: body.events, labelFilter: body.labels ?? [:], titleTemplate: body.title_template, bodyTemplate: body.body_template)
            let stored = try await shared.database.run { try ChannelStore.create(channel, on: $0) }
            return SidecarContext.json(.created, APIModels.encode(channelJSON(stored)), headers: [.location: "/v1/channels/\(stored.channel.id)"])
        }
        router.get("/v1/channels") { request, _ -> Response in
            try shared.requireAdmin(request)
            let list = try await shared.database.run { try ChannelStore.list(on: $0) }
            return SidecarContext.json(.ok, APIModels.encode(["channels": list.map(channelJSON)]))
        }
        router.get("/v1/channels/:id") { request, context -> Response in
            try shared.requireAdmin(request)
            let id = try channelID(context)
            guard let stored = try await shared.database.run({ try ChannelStore.get(id, on: $0) }) else { throw notFound(id) }
            return SidecarContext.json(.ok, APIModels.encode(channelJSON(stored)))
        }
        router.patch("/v1/channels/:id") { request, context -> Response in
            try shared.requireAdmin(request)
            let id = try channelID(context)
            let (body, present, nulls) = try await SidecarContext.jsonBody(request, as: ChannelBody.self, allowed: fields)
            for field in nulls where !["secret", "events", "title_template", "body_template"].contains(field) {
                throw APIError.badRequest("\(field): may not be null")
            }
            let stored = try await shared.database.run { connection in
                try ChannelStore.update(id, on: connection) { channel in
                    if let kind = body.kind { channel.kind = kind }
                    if let name = body.name { channel.name = name }
                    if let settings = body.settings { channel.settings = settings }
                    if present.contains("secret") { channel.secret = body.secret }
                    if let enabled = body.enabled { channel.enabled = enabled }
                    if present.contains("events") { channel.events = body.events }
                    if let labels = body.labels { channel.labelFilter = labels }
                    if present.contains("title_template") { channel.titleTemplate = body.title_template }
                    if present.contains("body_template") { channel.bodyTemplate = body.body_template }
                }
            }
            guard let stored else { throw notFound(id) }
            return SidecarContext.json(.ok, APIModels.encode(channelJSON(stored)))
        }
        router.delete("/v1/channels/:id") { request, context -> Response in
            try shared.requireAdmin(request)
            let id = try channelID(context)
            guard try await shared.database.run({ try ChannelStore.delete(id, on: $0) }) else { throw notFound(id) }
            return Response(status: .noContent)
        }
        router.post("/v1/channels/:id/test") { request, context -> Response in
            try shared.requireAdmin(request)
            let id = try channelID(context)
            let collector = shared.collector
            // The send blocks (up to the delivery timeout): it runs where database work runs.
            let (found, failure) = try await shared.database.run { connection -> (Bool, String?) in
                guard let stored = try ChannelStore.get(id, on: connection) else { return (false, nil) }
                return (true, collector.sendTestNotification(to: stored.channel))
            }
            guard found else { throw notFound(id) }
            if let failure {
                throw APIError(status: .badGateway, code: "channel_failed", message: "the channel did not take the test notification: \(failure)")
            }
            return SidecarContext.json(.ok, APIModels.encode(["delivered": true]))
        }
    }

    static func channelID(_ context: BasicRequestContext) throws -> Int {
        guard let text = context.parameters.get("id"), let id = Int(text), id > 0, id <= Int(Int32.max) else {
            throw APIError.badRequest("id: a channel id (a positive integer)")
        }
        return id
    }

    static func notFound(_ id: Int) -> APIError { APIError.notFound("no channel \(id)") }

    /// A channel as the API shows it: everything but the secret.
    static func channelJSON(_ stored: ChannelStore.Stored) -> [String: Any] {
        let channel = stored.channel
        return [
            "id": channel.id, "kind": channel.kind, "name": channel.name, "settings": channel.settings, "secret_set": channel.secret != nil,
            "enabled": channel.enabled, "events": channel.events.map { $0 as Any } ?? NSNull(), "labels": channel.labelFilter,
            "title_template": channel.titleTemplate.map { $0 as Any } ?? NSNull(), "body_template": channel.bodyTemplate.map { $0 as Any } ?? NSNull(),
            "delivered": stored.delivered, "failed": stored.failed, "abandoned": stored.abandoned,
            "last_error": stored.lastError.map { $0 as Any } ?? NSNull(), "last_error_at": APIModels.timestamp(stored.lastErrorAtMicros),
            "created_at": APIModels.timestamp(stored.createdAtMicros),
        ]
    }

    /// `POST` (kind and name required) and `PATCH` (all optional; `secret`, `events` and the
    /// templates may be null: no secret, every event, the kind's default).
    struct ChannelBody: Decodable {
        let kind: String?
        let name: String?
        let settings: [String: String]?
        let secret: String?
        let enabled: Bool?
        let events: [String]?
        let labels: [String: String]?
        let title_template: String?
        let body_template: String?
    }
}
