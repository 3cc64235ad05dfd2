import Collector
import Foundation
import HeartbeatTestSupport
@testable import Sidecar
import Testing

/// An open incident as operators see it: `/readyz` (still ready), `/metrics` and the status page's
/// banner, from the collector's snapshot (a fake collector: no PostgreSQL involved).
@Suite("Sidecar: an open incident")
struct IncidentRoutesTests {
    static let openedAt: Int64 = 1_796_515_200_000_000  // 2026-12-06T00:00:00Z

    @Test("/readyz names the open incident and stays 200; /metrics has the gauge and the counters by cause")
    func readyzAndMetrics() async throws {
        let collector = FakeCollector()
        collector.set { snapshot in
            SidecarRouteTests.healthy(&snapshot)
            snapshot.monitor.openIncident = .init(since: Self.openedAt, cause: "late_burst")
            snapshot.monitor.incidentsOpened = ["late_burst": 2, "lost_traffic": 1]
            snapshot.monitor.incidentsClosed = 2
            snapshot.monitor.incidentApplicationsReleased = 1_000
        }
        try await SidecarRouteTests.serve(collector) { port in
            let ready = try httpRequest(port: port, "/readyz")
            #expect(ready.status == 200, "an incident is not a reason for 503")
            let incident = SidecarRouteTests.object(ready)["incident"] as? [String: Any]
            #expect(incident?["cause"] as? String == "late_burst" && incident?["since"] as? String == "2026-12-06T00:00:00.000000Z")
            let metrics = try httpRequest(port: port, "/metrics").text
            for line in [
                "heartbeat_incident_open 1", "heartbeat_incidents_opened_total{cause=\"late_burst\"} 2", "heartbeat_incidents_opened_total{cause=\"lost_traffic\"} 1",
                "heartbeat_incidents_opened_total{cause=\"arrivals_fell\"} 0", "heartbeat_incidents_closed_total 2", "heartbeat_incident_applications_released_total 1000",
            ] {
                #expect(metrics.contains(line + "\n"), "\(line)")
            }
            collector.set { $0 = CollectorSnapshot(); SidecarRouteTests.healthy(&$0) }
            #expect(SidecarRouteTests.object(try httpRequest(port: port, "/readyz"))["incident"] == nil, "no incident: no field")
            #expect(try httpRequest(port: port, "/metrics").text.contains("heartbeat_incident_open 0\n"))
        }
    }

    @Test("the status page shows a banner while an incident is open, and none otherwise")
    func banner() {
        let view = LivenessView(source: .monitor, role: .alone, takenAtMicros: Self.openedAt, sequence: 1)
        let open = StatusPage.overview(
            counts: [:], applications: [], filter: nil, transitions: [], view: view, nowMicros: Self.openedAt + 90_000_000,
            incident: .init(since: Self.openedAt, cause: "late_burst"))
        #expect(open.contains("<p class=\"incident\"><b>Incident open</b> since 2026-12-06 00:00:00 UTC"), "\(open.prefix(600))")
        #expect(open.contains("cause late burst"))
        let calm = StatusPage.overview(counts: [:], applications: [], filter: nil, transitions: [], view: view, nowMicros: Self.openedAt)
        #expect(!calm.contains("Incident open"))
    }
}
