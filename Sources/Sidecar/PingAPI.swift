import Collector
import Foundation
import HTTPTypes
import Hummingbird

/// `GET|POST|HEAD /ping/{uuid}[/{action}]`: a heartbeat as one `curl` line (`Spec/http-ping.md`).
/// The ping is checked in full before the answer — application, ping key, budget, queue — so its
/// status code says what became of it; an accepted ping joins the same drain as UDP records and is
/// counted under transport `http_ping`. Answers are short text, for shell scripts and their logs.
enum PingAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        for path in ["/ping/:uuid", "/ping/:uuid/:action"] {
            for method in [HTTPRequest.Method.get, .post] {
                router.on(RouterPath(path), method: method) { request, context -> Response in
                    let uuid = context.parameters.get("uuid") ?? ""
                    return answer(
                        uuid: uuid[...], action: context.parameters.get("action").map { $0[...] }, query: request.uri.query,
                        headers: request.headers, shared.collector
                    ).response
                }
            }
        }
    }

    /// The answer to a ping to `uuid` with `action` (nil for a plain beat), its query string and
    /// headers: the router's and the event-loop fast path's (``LiveReadHandler``) alike.
    static func answer(
        uuid: Substring, action: Substring?, query: String?, headers: HTTPFields, _ collector: any SidecarCollector
    ) -> SidecarContext.Reply {
        let parameters = Self.parameters(query)
        let ping: HTTPPing
        do {
            ping = try HTTPPing(
                application: uuid, action: action, instance: parameters["instance"], key: SidecarContext.bearerToken(headers) ?? parameters["key"].map(String.init))
        } catch {
            collector.countMalformedPing()
            return text(.badRequest, "bad request: \(error)")
        }
        switch collector.submitPing(ping) {
        case .accepted:
            return text(.ok, "OK")
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
    /// `/ping/{uuid}/{action}`); nil for any other path.
    static func route(_ path: Substring) -> (uuid: Substring, action: Substring?)? {
        let segments = path.split(separator: "/")
        guard segments.first == "ping", (2...3).contains(segments.count) else { return nil }
        return (segments[1], segments.count == 3 ? segments[2] : nil)
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

    private static func text(_ status: HTTPResponse.Status, _ message: String) -> SidecarContext.Reply {
        var headers = HTTPFields()
        headers.reserveCapacity(6)
        headers.append(HTTPField(name: .contentType, value: "text/plain; charset=utf-8"))
        headers.append(HTTPField(name: .cacheControl, value: "no-store"))
        return SidecarContext.Reply(status: status, headers: headers, body: Array((message + "\n").utf8))
    }
}
