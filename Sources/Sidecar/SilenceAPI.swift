import Collector
import Foundation
import Hummingbird

/// `/v1/silences`, behind the admin token: maintenance windows (`Spec/liveness.md`, "Silences").
/// A write is answered once this collector's registry holds it (silences travel with the
/// registry), so the caller's next read sees the applications silenced.
enum SilenceAPI {
    static let fields: Set<String> = ["all", "apps", "labels", "name_prefix", "from", "until", "cron", "duration_ms", "time_zone", "comment"]

    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.post("/v1/silences") { request, _ -> Response in
            try shared.requireAdmin(request)
            // A list of up to 10,000 uuids is ~400 kB.
            let (body, _, nulls) = try await SidecarContext.jsonBody(request, as: SilenceBody.self, allowed: fields, limit: 524_288)
            if let field = nulls.sorted().first { throw APIError.badRequest("\(field): may not be null (leave it out)") }
            let silence: Silence
            do {
                silence = try body.request().silence(nowMicros: WallClock.nowMicros())
            } catch {
                throw DatabaseWork.apiError(error)
            }
            let stored = try await shared.registryWrite { try SilenceStore.create(silence, nowMicros: WallClock.nowMicros(), on: $0) }
            return SidecarContext.json(.created, APIModels.encode(json(stored, nowMicros: WallClock.nowMicros())), headers: [.location: "/v1/silences/\(stored.id)"])
        }
        router.get("/v1/silences") { request, _ -> Response in
            try shared.requireAdmin(request)
            let list = try await shared.database.run { try SilenceStore.list(on: $0) }
            let now = WallClock.nowMicros()
            return SidecarContext.json(.ok, APIModels.encode(["silences": list.map { json($0, nowMicros: now) }]))
        }
        router.get("/v1/silences/:id") { request, context -> Response in
            try shared.requireAdmin(request)
            let id = try silenceID(context)
            guard let silence = try await shared.database.run({ try SilenceStore.get(id, on: $0) }) else { throw notFound(id) }
            return SidecarContext.json(.ok, APIModels.encode(json(silence, nowMicros: WallClock.nowMicros())))
        }
        router.delete("/v1/silences/:id") { request, context -> Response in
            try shared.requireAdmin(request)
            let id = try silenceID(context)
            guard try await shared.registryWrite({ try SilenceStore.delete(id, on: $0) }) else { throw notFound(id) }
            return Response(status: .noContent)
        }
    }

    static func silenceID(_ context: BasicRequestContext) throws -> Int {
        guard let text = context.parameters.get("id"), let id = Int(text), id > 0, id <= Int(Int32.max) else {
            throw APIError.badRequest("id: a silence id (a positive integer)")
        }
        return id
    }

    static func notFound(_ id: Int) -> APIError { APIError.notFound("no silence \(id)") }

    /// A silence as the API shows it: its selector and window as they were given, whether it is
    /// in force, when the occurrence in force ends and when the next one starts.
    static func json(_ silence: Silence, nowMicros: Int64) -> [String: Any] {
        var object: [String: Any] = [
            "id": silence.id, "comment": silence.comment, "created_at": APIModels.timestamp(silence.createdAtMicros),
            "all": silence.selector == .all, "apps": NSNull(), "labels": NSNull(), "name_prefix": NSNull(),
            "from": NSNull(), "until": NSNull(), "cron": NSNull(), "time_zone": NSNull(), "duration_ms": NSNull(),
        ]
        switch silence.selector {
        case .all: break
        case .applications(let uuids): object["apps"] = uuids.map(\.description).sorted()
        case .labels(let labels): object["labels"] = labels
        case .namePrefix(let prefix): object["name_prefix"] = prefix
        }
        switch silence.window {
        case .between(let from, let until):
            object["from"] = APIModels.timestamp(from)
            object["until"] = APIModels.timestamp(until)
        case .recurring(let schedule, let duration):
            object["cron"] = schedule.expression.text
            object["time_zone"] = schedule.zone.identifier
            object["duration_ms"] = duration / 1_000
            object["description"] = schedule.words
        }
        let occurrence = silence.occurrence(atMicros: nowMicros)
        object["active"] = occurrence != nil
        object["active_until"] = APIModels.timestamp(occurrence?.endMicros)
        object["next_start"] = APIModels.timestamp(silence.nextStart(afterMicros: nowMicros))
        return object
    }

    /// `POST /v1/silences`.
    struct SilenceBody: Decodable {
        let all: Bool?
        let apps: [String]?
        let labels: [String: String]?
        let name_prefix: String?
        let from: String?
        let until: String?
        let cron: String?
        let duration_ms: Int64?
        let time_zone: String?
        let comment: String?

        func request() throws -> SilenceRequest {
            var request = SilenceRequest()
            request.all = all ?? false
            if all == false { throw APIError.badRequest("all: true, or leave it out") }
            request.apps = apps
            request.labels = labels
            request.namePrefix = name_prefix
            request.fromMicros = try from.map { try time($0, "from") }
            request.untilMicros = try until.map { try time($0, "until") }
            request.cron = cron
            request.durationMillis = duration_ms
            request.timeZone = time_zone
            request.comment = comment ?? ""
            return request
        }

        private func time(_ text: String, _ field: String) throws -> Int64 {
            guard !text.allSatisfy(\.isNumber), let micros = APIModels.parseTimestamp(text) else {
                throw APIError.badRequest("\(field): an RFC 3339 time such as 2026-12-06T02:00:00Z")
            }
            return micros
        }
    }
}
