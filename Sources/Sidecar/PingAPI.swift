import Atomics
import Collector
import Foundation
import HTTPTypes
import Hummingbird

/// `GET|POST|HEAD /ping/{uuid}[/{action}]`: a heartbeat as one `curl` line (`Spec/http-ping.md`).
/// The ping is checked in full before the answer — application, ping key, budget, queue — so its
/// status code says what became of it; an accepted ping joins the same drain as UDP records and is
/// counted under transport `http_ping`. A ping that starts, ends or logs a job run also stores the
/// run (and the output a POST carries) in `job_run`, before its record is queued, so a notification
/// the record causes finds the output stored. Answers are short text, for shell scripts and their logs.
enum PingAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        for path in ["/ping/:uuid", "/ping/:uuid/:action"] {
            for method in [HTTPRequest.Method.get, .post] {
                router.on(RouterPath(path), method: method) { request, context -> Response in
                    let ping: HTTPPing
                    let parameters = Self.parameters(request.uri.query)
                    switch parse(
                        uuid: (context.parameters.get("uuid") ?? "")[...], action: context.parameters.get("action").map { $0[...] },
                        parameters: parameters, headers: request.headers, shared.collector)
                    {
                    case .malformed(let answer): return answer.response
                    case .ping(let parsed): ping = parsed
                    }
                    if parameters["create"] == "1", shared.collector.liveStatus().registry.validator.applications.entry(for: ping.application) == nil,
                        let refusal = await shared.provisioner.provision(ping, parameters: parameters, shared)
                    {
                        return refusal.response
                    }
                    guard ping.isRunEvent else { return reply(shared.collector.submitPing(ping), ping).response }
                    return try await runEvent(ping, request: request, shared).response
                }
            }
        }
    }

    /// The answer to a ping that is not a run event (a beat, `stop`), or to a malformed one, on the
    /// event loop (``LiveReadHandler``); nil for a run event or a `?create=`, which need the
    /// database and go to the router.
    static func eventLoopAnswer(path: Substring, query: String?, headers: HTTPFields, _ collector: any SidecarCollector) -> SidecarContext.Reply? {
        guard let (uuid, action) = route(path) else { return nil }
        let parameters = Self.parameters(query)
        switch parse(uuid: uuid, action: action, parameters: parameters, headers: headers, collector) {
        case .malformed(let answer): return answer
        case .ping(let ping): return ping.isRunEvent || parameters["create"] != nil ? nil : reply(collector.submitPing(ping), ping)
        }
    }

    /// A request to a ping route: the ping it describes, or the 400 it gets.
    private enum Parsed {
        case ping(HTTPPing)
        case malformed(SidecarContext.Reply)
    }

    /// The ping a request describes, or the 400 it gets (counted as malformed).
    private static func parse(
        uuid: Substring, action: Substring?, parameters: [String: Substring], headers: HTTPFields, _ collector: any SidecarCollector
    ) -> Parsed {
        do {
            return .ping(try HTTPPing(
                application: uuid, action: action, instance: parameters["instance"],
                key: SidecarContext.bearerToken(headers) ?? parameters["key"].map(String.init), runKey: parameters["rid"]))
        } catch {
            collector.countMalformedPing()
            return .malformed(text(.badRequest, "bad request: \(error)"))
        }
    }

    /// A start, an end or a log: the output read (a POST's body, when the action ends or logs a
    /// run), the ping admitted, its run stored, then its record queued. A run the database could not
    /// take does not hold up the record (liveness never waits on storage): the answer says so and
    /// `heartbeat_run_write_failures_total` counts it; a `/log`, which is nothing but its output, is
    /// then a 503.
    private static func runEvent(_ ping: HTTPPing, request: Request, _ shared: SidecarContext) async throws -> SidecarContext.Reply {
        var output: CapturedOutput?
        if request.method == .post, ping.kind != .start || ping.isLog {
            var captured = CapturedOutput()
            for try await chunk in request.body { captured.append(chunk.readableBytesView) }
            output = captured
        }
        let collector = shared.collector
        let admitted: HTTPIngestGate.AdmittedPing
        switch collector.admitPing(ping) {
        case .refused(let outcome): return reply(outcome, ping)
        case .admitted(let value): admitted = value
        }
        let event = RunEvent(
            applicationID: admitted.applicationID, kind: ping.runEventKind ?? .log, runKey: ping.runKey, instance: ping.instance,
            atMicros: admitted.receivedAtMicros, output: output)
        let keep = collector.runHistory
        var stored = true
        do {
            let (_, pruned) = try await shared.database.run { try RunStore.record(event, keep: keep, on: $0) }
            shared.runWrites.recorded.wrappingIncrement(ordering: .relaxed)
            shared.runWrites.pruned.wrappingIncrement(by: UInt64(pruned), ordering: .relaxed)
        } catch {
            stored = false
            shared.runWrites.failed.wrappingIncrement(ordering: .relaxed)
        }
        if ping.isLog {
            guard stored else {
                var answer = text(.serviceUnavailable, "service unavailable: the output was not stored (the database did not answer); retry")
                answer.headers[.retryAfter] = "5"
                return answer
            }
            return text(.ok, "OK")
        }
        let outcome = collector.enqueuePing(admitted)
        if outcome == .accepted, !stored { return text(.ok, "OK, but the run was not stored: the database did not answer") }
        return reply(outcome, ping)
    }

    /// The answer for `outcome`.
    static func reply(_ outcome: HTTPPing.Outcome, _ ping: HTTPPing) -> SidecarContext.Reply {
        switch outcome {
        case .accepted:
            return accepted
        case .unknownApplication:
            return text(.notFound, "not found: no application \(ping.application)")
        case .disabled:
            return text(.notFound, "not found: application \(ping.application) is disabled")
        case .keyMissing:
            var reply = text(.unauthorized, "unauthorized: this application is signed; send its ping key as Authorization: Bearer <ping key>")
            reply.headers[.wwwAuthenticate] = #"Bearer realm="heartbeat ping""#
            return reply
        case .keyWrong:
            return text(.forbidden, "forbidden: that is not this application's ping key")
        case .rateLimited(let seconds):
            var reply = text(.tooManyRequests, "too many requests: over this application's budget; retry after \(seconds) s")
            reply.headers[.retryAfter] = String(seconds)
            return reply
        case .overloaded:
            var reply = text(.serviceUnavailable, "service unavailable: the collector's queue is full; retry in a second")
            reply.headers[.retryAfter] = "1"
            return reply
        }
    }

    /// The UUID and action segments of a request path that is a ping route (`/ping/{uuid}` or
    /// `/ping/{uuid}/{action}`, a trailing `/` allowed); nil for any other path. Split on bytes:
    /// the event loop runs it for every ping.
    static func route(_ path: Substring) -> (uuid: Substring, action: Substring?)? {
        let bytes = path.utf8
        guard bytes.starts(with: "/ping/".utf8) else { return nil }
        var rest = path[bytes.index(bytes.startIndex, offsetBy: 6)...]
        if rest.utf8.last == UInt8(ascii: "/") { rest = rest.dropLast() }
        guard !rest.isEmpty else { return nil }
        guard let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) else { return (rest, nil) }
        let action = rest[rest.utf8.index(after: slash)...]
        guard !action.isEmpty, !action.utf8.contains(UInt8(ascii: "/")) else { return nil }
        return (rest[..<slash], action)
    }

    /// The query's parameters (the first of each name), percent-decoded.
    static func parameters(_ query: String?) -> [String: Substring] {
        guard let query, !query.isEmpty else { return [:] }
        var parameters = [String: Substring]()
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard parameters[name] == nil else { continue }
            let value = parts.count > 1 ? parts[1] : ""
            parameters[name] = value.contains("%") || value.contains("+")
                ? (value.replacingOccurrences(of: "+", with: " ").removingPercentEncoding.map { $0[...] } ?? value)
                : value
        }
        return parameters
    }

    /// The answer to an accepted ping, made once.
    private static let accepted = text(.ok, "OK")

    static func text(_ status: HTTPResponse.Status, _ message: String) -> SidecarContext.Reply {
        var headers = HTTPFields()
        headers.reserveCapacity(6)
        headers.append(HTTPField(name: .contentType, value: "text/plain; charset=utf-8"))
        headers.append(HTTPField(name: .cacheControl, value: "no-store"))
        return SidecarContext.Reply(status: status, headers: headers, body: Array((message + "\n").utf8))
    }
}

/// What the sidecar's run writes did (`/metrics`: `heartbeat_runs_recorded_total`,
/// `heartbeat_run_write_failures_total`, `heartbeat_runs_deleted_total{cause="cap"}`).
final class RunWriteCounters: Sendable {
    let recorded = ManagedAtomic<UInt64>(0)
    let failed = ManagedAtomic<UInt64>(0)
    let pruned = ManagedAtomic<UInt64>(0)
}
