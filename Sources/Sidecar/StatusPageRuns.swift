import Collector
import Foundation
import Protocol

/// The "Runs" section of an application's page: its latest job runs from HTTP pings and the end of
/// the newest output, read through the history cache like its transitions.
extension StatusPage {
    /// Runs shown on the page.
    static let shownRuns = 10
    /// Characters of the newest output shown.
    static let shownOutputTail = 2_000

    /// The page's runs and the tail of the newest output among them (nil when none has output).
    static func recentRuns(_ shared: SidecarContext, uuid: ApplicationUUID) async throws -> (runs: [StoredRun], tail: (run: Int64, text: String)?) {
        let body = try await shared.history(key: "page runs \(uuid)") {
            let (runs, newest) = try await shared.historyReads.run { connection -> ([StoredRun], StoredRun?) in
                guard let record = try ApplicationStore.get(uuid, on: connection) else { return ([], nil) }
                let runs = try RunStore.runs(applicationID: record.id, limit: shownRuns, before: nil, on: connection)
                let withOutput = runs.first { $0.outputBytes > 0 }
                return (runs, try withOutput.flatMap { try RunStore.output(applicationID: record.id, runID: $0.id, on: connection) })
            }
            var object: [String: Any] = ["runs": runs.map(RunsAPI.json)]
            if let newest, let output = newest.output { object["tail"] = ["run": newest.id, "text": String(output.suffix(shownOutputTail))] }
            return APIModels.encode(object)
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        let runs = (object["runs"] as? [[String: Any]] ?? []).compactMap { item -> StoredRun? in
            guard let id = (item["id"] as? NSNumber)?.int64Value, let outcome = item["outcome"] as? String else { return nil }
            return StoredRun(
                id: id, outcome: outcome, runKey: item["rid"] as? String, instance: (item["instance"] as? NSNumber)?.int64Value ?? 0,
                startedAtMicros: (item["started_at"] as? String).flatMap(APIModels.parseTimestamp),
                endedAtMicros: (item["ended_at"] as? String).flatMap(APIModels.parseTimestamp), exitStatus: item["exit_status"] as? Int,
                outputBytes: (item["output_bytes"] as? NSNumber)?.int64Value ?? 0, outputTruncated: item["output_truncated"] as? Bool ?? false, output: nil)
        }
        let tail = (object["tail"] as? [String: Any]).flatMap { tail -> (Int64, String)? in
            guard let run = (tail["run"] as? NSNumber)?.int64Value, let text = tail["text"] as? String else { return nil }
            return (run, text)
        }
        return (runs, tail)
    }

    /// The runs table and the newest output's tail, for application `uuid`; empty without runs.
    static func runsSection(_ runs: [StoredRun], tail: (run: Int64, text: String)?, uuid: String, nowMicros: Int64) -> String {
        guard !runs.isEmpty else { return "" }
        var html = "<h2>Runs</h2>\n<div class=\"table\"><table><tr><th>when</th><th>outcome</th><th>took</th><th class=\"wide\">output</th></tr>\n"
        for run in runs {
            let when = run.endedAtMicros ?? run.startedAtMicros
            let outcome = run.outcome + (run.exitStatus.map { " (\($0))" } ?? "") + (run.runKey.map { " · " + $0 } ?? "")
            let took = run.startedAtMicros.flatMap { started in run.endedAtMicros.map { duration($0 - started) } } ?? "—"
            let output = run.outputBytes > 0
                ? "<a href=\"/v1/apps/\(uuid)/runs/\(run.id)/log\">\(run.outputBytes) bytes</a>\(run.outputTruncated ? " (last 100 KiB kept)" : "")"
                : "—"
            html += "<tr><td>\(when.map { ago($0, nowMicros) } ?? "—")</td><td>\(badge(runState(run.outcome))) \(escape(outcome))</td>"
                + "<td>\(took)</td><td class=\"wide muted\">\(output)</td></tr>\n"
        }
        html += "</table></div>\n"
        if let tail {
            html += "<h2>Latest output</h2>\n<pre class=\"output\">\(escape(tail.text))</pre>\n"
                + "<p class=\"muted\"><a href=\"/v1/apps/\(uuid)/runs/\(tail.run)/log\">whole output</a></p>\n"
        }
        return html
    }

    /// The state colour a run's outcome borrows: success as up, fail as down, running as late.
    private static func runState(_ outcome: String) -> String {
        switch outcome {
        case "success": "up"
        case "fail": "down"
        case "running": "late"
        default: "new"
        }
    }
}
