import Collector
import Foundation
import Hummingbird
import Protocol

/// Public badges (`Spec/access.md`, "Badges"): `GET /badge/{key}.svg` and `/badge/{key}.json` (the
/// shields.io endpoint format) need no token; the key alone names the application and reveals its
/// state, or its uptime with `?show=uptime30d`, and nothing else. An unknown key, a key of the
/// wrong form and a rotated one are all the same 404. Keys are read and rotated with the read and
/// admin tokens at `/v1/apps/{uuid}/badge-key`.
enum BadgeAPI {
    /// The longest `?label=` a badge takes.
    static let maxLabelLength = 40

    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/badge/:file") { request, context in
            let file = context.parameters.get("file") ?? ""
            guard let dot = file.lastIndex(of: "."), let format = Format(rawValue: String(file[file.index(after: dot)...])) else {
                throw APIError.notFound("a badge is /badge/{key}.svg or /badge/{key}.json")
            }
            let key = String(file[..<dot])
            let parameters = request.uri.queryParameters
            guard let show = Badge.Show(parameters.get("show")) else {
                throw APIError.badRequest("show: state, uptime24h, uptime7d, uptime30d or uptime90d")
            }
            let label = parameters.get("label") ?? show.defaultLabel
            guard !label.isEmpty, label.count <= maxLabelLength else { throw APIError.badRequest("label: 1 to \(maxLabelLength) characters") }
            return try await shared.cachedRead(request, key: "badge \(key) \(format) \(show) \(label)", contentType: format.contentType) {
                let badge = try await badge(key: key, show: show, label: label, shared)
                return format == .svg ? Array(badge.svg.utf8) : badge.json
            }
        }
        router.get("/v1/apps/:uuid/badge-key") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let key = try await shared.database.run { try BadgeKeys.key(of: uuid, on: $0) }
            guard let key else { throw APIError.notFound("no application \(uuid)") }
            return SidecarContext.json(.ok, Array(answer(key).utf8))
        }
        router.post("/v1/apps/:uuid/badge-key") { request, context -> Response in
            try shared.requireAdmin(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let key = try await shared.registryWrite { try BadgeKeys.rotate(uuid, on: $0) }
            guard let key else { throw APIError.notFound("no application \(uuid)") }
            shared.cache.invalidate()
            return SidecarContext.json(.ok, Array(answer(key).utf8))
        }
    }

    /// A badge's two forms.
    enum Format: String {
        case svg, json

        var contentType: String { self == .svg ? "image/svg+xml" : "application/json" }
    }

    /// The badge of the application whose key is `key`: its state from memory, or its uptime over
    /// the window from its transitions. 404 when no application has the key.
    static func badge(key: String, show: Badge.Show, label: String, _ shared: SidecarContext) async throws -> Badge {
        let found = try await shared.database.run { try BadgeKeys.application(forKey: key, on: $0) }
        guard let found else { throw APIError.notFound("no badge \(key.prefix(32))") }
        switch show {
        case .state:
            return Badge.state(try shared.liveStatus().application(id: found.id)?.status, label: label)
        case .uptime(_, let seconds):
            let to = ReadCache.nowMicros(), from = to - seconds * 1_000_000
            let history = try await shared.historyReads.run { try ApplicationStore.statusHistory(applicationID: found.id, fromMicros: from, toMicros: to, on: $0) }
            return Badge.uptime(Uptime.over(fromMicros: from, toMicros: to, statusAtStart: history.statusAtStart, changes: history.changes).ratio, label: label)
        }
    }

    /// `{"badge_key": …, "svg": "/badge/….svg", "json": "/badge/….json"}`.
    static func answer(_ key: String) -> String {
        "{\"badge_key\":\"\(key)\",\"json\":\"/badge/\(key).json\",\"svg\":\"/badge/\(key).svg\"}"
    }
}
