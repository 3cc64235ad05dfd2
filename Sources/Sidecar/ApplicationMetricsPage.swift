import Collector
import Hummingbird

/// `GET /metrics/apps` (with `--app-metrics`): a few Prometheus series per application, from the
/// same memory as the status API — `heartbeat_app_up` (1 while `up`), `heartbeat_app_status`
/// (one-hot by state) and `heartbeat_app_last_seen_timestamp_seconds` (absent before the first
/// record), labelled by uuid and name. Off by default: each application adds seven series.
enum ApplicationMetricsPage {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/metrics/apps") { request, _ -> Response in
            try shared.requireRead(request)
            guard shared.applicationMetrics else {
                throw APIError.notFound("per-application metrics are off: start the collector with --app-metrics")
            }
            return Response(
                status: .ok, headers: [.contentType: CollectorMetricsPage.contentType, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: render(try shared.liveStatus()))))
        }
    }

    /// The page for every application in `live`, in id order within each family.
    static func render(_ live: LiveStatus) -> String {
        var applications = [LiveApplication]()
        applications.reserveCapacity(live.registry.profiles.count)
        for id in 0..<live.registry.profiles.idLimit {
            if let application = live.application(id: id) { applications.append(application) }
        }
        let labels = applications.map { application in
            "uuid=\"\(application.profile.uuid)\",name=\"" + escaped(application.profile.name) + "\""
        }
        var text = ""
        text.reserveCapacity(applications.count * 700)
        text += "# HELP heartbeat_app_up Whether the application is up (1), or in any other state (0).\n# TYPE heartbeat_app_up gauge\n"
        for (index, application) in applications.enumerated() {
            text += "heartbeat_app_up{" + labels[index] + "} " + (application.status == .up ? "1\n" : "0\n")
        }
        text += "# HELP heartbeat_app_status The application's state: 1 for the state it is in, 0 for the others.\n# TYPE heartbeat_app_status gauge\n"
        for (index, application) in applications.enumerated() {
            for state in LivenessStatus.allCases {
                text += "heartbeat_app_status{" + labels[index] + ",state=\"\(state)\"} " + (application.status == state ? "1\n" : "0\n")
            }
        }
        text += "# HELP heartbeat_app_last_seen_timestamp_seconds When the application's latest record arrived (Unix seconds).\n"
        text += "# TYPE heartbeat_app_last_seen_timestamp_seconds gauge\n"
        for (index, application) in applications.enumerated() {
            guard let micros = application.lastHeartbeatMicros else { continue }
            text += "heartbeat_app_last_seen_timestamp_seconds{" + labels[index] + "} " + PrometheusText.number(Double(micros) / 1e6) + "\n"
        }
        return text
    }

    /// A label value as the text format wants it: backslash, newline and double quote escaped.
    static func escaped(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x22 }) else { return value }
        var result = ""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\"": result += "\\\""
            default: result.append(character)
            }
        }
        return result
    }
}
