import Collector
import Foundation
import Hummingbird

/// `GET /v1/incidents` (read): the incident hold's recent incidents (`Spec/liveness.md`,
/// "Incident hold"), newest first, an open one with the notifications it holds.
enum IncidentAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/v1/incidents") { request, _ -> Response in
            try shared.requireRead(request)
            let limit = try SidecarContext.integer(request, "limit", default: 20, range: 1...200)
            let incidents = try await shared.database.run { try IncidentStore.recent(limit: limit, on: $0) }
            return SidecarContext.json(.ok, APIModels.encode([
                "open": incidents.first { $0.closedAtMicros == nil }.map(json) ?? NSNull(), "incidents": incidents.map(json),
            ]))
        }
    }

    static func json(_ incident: IncidentStore.Record) -> [String: Any] {
        [
            "id": incident.id, "cause": incident.cause, "opened_at": APIModels.timestamp(incident.openedAtMicros),
            "late_in_window": incident.lateInWindow, "closed_at": APIModels.timestamp(incident.closedAtMicros),
            "ending": incident.ending.map { $0 as Any } ?? NSNull(), "applications_down": incident.applicationsDown.map { $0 as Any } ?? NSNull(),
            "held": incident.held,
        ]
    }
}
