import Collector
import Foundation
import Hummingbird

/// An application's job runs as HTTP pings reported them (`job_run`): the list, newest first, and
/// one run's output. History reads, through the 1-second cache like events and transitions.
enum RunsAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/v1/apps/:uuid/runs") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            let limit = try SidecarContext.integer(request, "limit", default: 50, range: 1...1_000)
            var before: Int64?
            if let text = request.uri.queryParameters.get("before") {
                guard let id = Int64(text), id > 0 else { throw APIError.badRequest("before: \(text.prefix(40)) is not a run id") }
                before = id
            }
            let cursor = before
            return try await shared.cachedRead(request, key: "runs \(uuid) limit=\(limit) before=\(cursor.map(String.init) ?? "")") {
                let runs = try await shared.historyReads.run { connection in
                    guard let record = try ApplicationStore.get(uuid, on: connection) else { throw APIError.notFound("no application \(uuid)") }
                    return try RunStore.runs(applicationID: record.id, limit: limit, before: cursor, on: connection)
                }
                return APIModels.encode([
                    "runs": runs.map(json), "next_before": runs.count == limit ? runs.last!.id as Any : NSNull(),
                ])
            }
        }
        router.get("/v1/apps/:uuid/runs/:run/log") { request, context in
            try shared.requireRead(request)
            let uuid = try StatusAPI.applicationUUID(context)
            guard let runID = context.parameters.get("run").flatMap({ Int64($0) }), runID > 0 else { throw APIError.badRequest("run: not a run id") }
            return try await shared.cachedRead(request, key: "run-log \(uuid) \(runID)", contentType: "text/plain; charset=utf-8") {
                let run = try await shared.historyReads.run { connection in
                    guard let record = try ApplicationStore.get(uuid, on: connection) else { throw APIError.notFound("no application \(uuid)") }
                    guard let run = try RunStore.output(applicationID: record.id, runID: runID, on: connection) else {
                        throw APIError.notFound("application \(uuid) has no run \(runID)")
                    }
                    return run
                }
                return Array((run.output ?? "").utf8)
            }
        }
    }

    /// A run as the API shows it.
    static func json(_ run: StoredRun) -> [String: Any] {
        let duration: Any = run.startedAtMicros.flatMap { started in run.endedAtMicros.map { ($0 - started) / 1_000 } } ?? NSNull()
        return [
            "id": run.id, "outcome": run.outcome, "rid": run.runKey ?? NSNull(), "instance": run.instance,
            "started_at": APIModels.timestamp(run.startedAtMicros), "ended_at": APIModels.timestamp(run.endedAtMicros), "duration_ms": duration,
            "exit_status": run.exitStatus ?? NSNull(), "output_bytes": run.outputBytes, "output_truncated": run.outputTruncated,
        ]
    }
}
