import Collector
import Foundation
import Hummingbird
import Protocol

/// The write side of the API, behind the admin bearer token: register, change, delete, pause,
/// resume, rotate a secret. A write is answered once this collector's memory holds it (see
/// ``RegistryWriteGate``), and it empties the history cache, so the caller reads its change.
enum ManagementAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.post("/v1/apps") { request, _ -> Response in
            try shared.requireAdmin(request)
            let (body, _, _) = try await SidecarContext.jsonBody(
                request, as: CreateBody.self, allowed: ["name", "interval_ms", "schedule", "grace_ms", "max_run_ms", "signed", "labels", "down_after", "up_after", "remind_every_ms", "min_instances"])
            let (record, secret) = try await shared.registryWrite { connection in
                try ApplicationStore.create(
                    name: body.name, intervalMillis: body.interval_ms, schedule: body.schedule?.spec, graceMillis: body.grace_ms ?? 30_000,
                    maxRunMillis: body.max_run_ms, signed: body.signed ?? false, labels: body.labels ?? [:],
                    noise: NoiseSettings(downAfter: body.down_after ?? 1, upAfter: body.up_after ?? 1, remindEveryMillis: body.remind_every_ms,
                        minInstances: body.min_instances ?? 1),
                    on: connection)
            }
            shared.cache.invalidate()
            return SidecarContext.json(
                .created, APIModels.encode(APIModels.application(record, secret: secret)),
                headers: [.location: "/v1/apps/\(record.uuid)"])
        }
        router.patch("/v1/apps/:uuid") { request, context -> Response in
            try shared.requireAdmin(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let (body, present, nulls) = try await SidecarContext.jsonBody(
                request, as: PatchBody.self, allowed: ["name", "interval_ms", "schedule", "grace_ms", "max_run_ms", "enabled", "signed", "labels", "down_after", "up_after", "remind_every_ms", "min_instances"])
            for field in nulls where field != "max_run_ms" && field != "remind_every_ms" { throw APIError.badRequest("\(field): may not be null") }
            let changes = ApplicationStore.Changes(
                name: body.name, intervalMillis: body.interval_ms, schedule: body.schedule?.spec, graceMillis: body.grace_ms,
                maxRunMillis: present.contains("max_run_ms") ? .some(body.max_run_ms) : nil, enabled: body.enabled, signed: body.signed, labels: body.labels,
                downAfter: body.down_after, upAfter: body.up_after,
                remindEveryMillis: present.contains("remind_every_ms") ? .some(body.remind_every_ms) : nil, minInstances: body.min_instances)
            let (record, secret) = try await shared.registryWrite { try ApplicationStore.update(uuid, changes, on: $0) }
            shared.cache.invalidate()
            return SidecarContext.json(.ok, APIModels.encode(APIModels.application(record, secret: secret)))
        }
        router.delete("/v1/apps/:uuid") { request, context -> Response in
            try shared.requireAdmin(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let existed = try await shared.registryWrite { try ApplicationStore.delete(uuid, on: $0) }
            guard existed else { throw APIError.notFound("no application \(uuid)") }
            shared.cache.invalidate()
            return Response(status: .noContent)
        }
        for (path, paused) in [("pause", true), ("resume", false)] {
            router.post("/v1/apps/:uuid/\(path)") { request, context -> Response in
                try shared.requireAdmin(request)
                let uuid = try StatusAPI.applicationUUID(context)
                let (record, notification) = try await shared.registryWrite { connection in
                    try ApplicationStore.setOperatorStatus(uuid, paused: paused, on: connection)
                }
                if let notification { shared.collector.publishNotification(notification) }
                shared.cache.invalidate()
                return SidecarContext.json(.ok, APIModels.encode(APIModels.application(record)))
            }
        }
        router.post("/v1/apps/:uuid/rotate-secret") { request, context -> Response in
            try shared.requireAdmin(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let seconds = shared.previousSecretSeconds
            let (secret, expires) = try await shared.registryWrite { try ApplicationStore.rotateSecret(uuid, previousValidSeconds: seconds, on: $0) }
            shared.cache.invalidate()
            return SidecarContext.json(.ok, APIModels.encode([
                "secret": secret.hexString, "ping_key": PingKey.hex(for: secret), "previous_secret_expires_at": APIModels.timestamp(expires),
            ]))
        }
    }

    /// `schedule` in a request: a cron expression and its IANA time zone (UTC when absent).
    struct ScheduleBody: Decodable {
        let cron: String
        let time_zone: String?

        var spec: ScheduleSpec { ScheduleSpec(cron: cron, timeZone: time_zone ?? "UTC") }
    }

    /// `POST /v1/apps`: `interval_ms` (default 60000) or `schedule`, not both.
    struct CreateBody: Decodable {
        let name: String
        let interval_ms: Int?
        let schedule: ScheduleBody?
        let grace_ms: Int?
        let max_run_ms: Int?
        let signed: Bool?
        let labels: [String: String]?
        let down_after: Int?
        let up_after: Int?
        /// Absent or null: the collector's `--remind-every`; 0: never.
        let remind_every_ms: Int?
        /// Distinct instances that must report for `up` (default 1).
        let min_instances: Int?
    }

    /// `PATCH /v1/apps/{uuid}`: absent fields stay as they are; `max_run_ms: null` removes the limit,
    /// `remind_every_ms: null` follows the collector's default again;
    /// `signed: true` gives an unsigned application a secret (in the answer, once), `false` removes it.
    /// Setting `interval_ms` drops a schedule and setting `schedule` drops the interval.
    struct PatchBody: Decodable {
        let name: String?
        let interval_ms: Int?
        let schedule: ScheduleBody?
        let grace_ms: Int?
        let max_run_ms: Int?
        let enabled: Bool?
        let signed: Bool?
        /// Replaces every label (`{}` removes them all).
        let labels: [String: String]?
        let down_after: Int?
        let up_after: Int?
        let remind_every_ms: Int?
        let min_instances: Int?
    }
}
