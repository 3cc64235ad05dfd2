import Collector
import Foundation
import HTTPTypes
import Hummingbird
import Protocol
import ThreadSafety

/// The live read side of the API — applications, one application, the summary — answered from the
/// collector's memory (its registry and the monitor's latest view: ``LiveStatus``), with no
/// database round trip and no cache: current to the monitor's last sweep. Each answer carries an
/// ETag (304 on `If-None-Match`), `Cache-Control: no-cache` (a client may keep it but asks again
/// each time) and `Heartbeat-View-At` (when the view was taken).
enum StatusAPI {
    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.get("/v1/apps") { request, _ in
            try shared.requireRead(request)
            var state: LivenessStatus?
            if let text = request.uri.queryParameters.get("state") {
                guard let status = LivenessStatus(label: text) else { throw APIError.badRequest("state: \(text) is not one of new, up, late, down, paused") }
                state = status
            }
            let prefix = request.uri.queryParameters.get("prefix")
            let limit = try SidecarContext.integer(request, "limit", default: 100, range: 1...1_000)
            var cursorID = 0
            if let cursor = request.uri.queryParameters.get("cursor") {
                guard let value = Int(cursor), value >= 0 else { throw APIError.badRequest("cursor: not a cursor this API returned") }
                cursorID = value
            }
            let live = try shared.liveStatus()
            let page = live.page(status: state, namePrefix: prefix, afterID: cursorID, limit: limit)
            var json = [UInt8]()
            json.reserveCapacity(64 + page.applications.count * 480)
            json.append("{\"apps\":[")
            for (index, application) in page.applications.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                LiveJSON.application(application, view: nil, into: &json)
            }
            json.append(contentsOf: ("],\"next_cursor\":" + (page.nextAfterID.map { "\"\($0)\"" } ?? "null") + ",\"view\":\"\(LiveJSON.viewLabel(live.view))\"}").utf8)
            return answer(request.headers, json, live.view).response
        }
        router.get("/v1/apps/:uuid") { request, context in
            try application(context.parameters.get("uuid") ?? "", headers: request.headers, shared).response
        }
        router.get("/v1/summary") { request, _ in
            try summary(headers: request.headers, shared).response
        }
    }

    /// `GET /v1/apps/{uuid}`: 200 (or 304) from memory; throws the API error otherwise. The router
    /// and the event-loop fast path (``LiveReadHandler``) both answer with it.
    static func application(_ uuidText: some StringProtocol, headers: HTTPFields, _ shared: SidecarContext) throws -> SidecarContext.Reply {
        try shared.requireRead(headers)
        guard let uuid = ApplicationUUID(uuidText) else { throw APIError.badRequest("not an application UUID: \(uuidText)") }
        let live = try shared.liveStatus()
        guard let application = live.application(uuid) else { throw APIError.notFound("no application \(uuid)") }
        var json = [UInt8]()
        json.reserveCapacity(512)
        LiveJSON.application(application, view: LiveJSON.viewLabel(live.view), into: &json)
        return answer(headers, json, live.view)
    }

    /// `GET /v1/summary`: counts by state from memory (see ``application(_:headers:_:)``).
    static func summary(headers: HTTPFields, _ shared: SidecarContext) throws -> SidecarContext.Reply {
        try shared.requireRead(headers)
        let live = try shared.liveStatus()
        let counts = shared.summaries.counts(of: live)
        var text = "{"
        for status in LivenessStatus.allCases.sorted(by: { $0.description < $1.description }) {
            text += "\"\(status)\":\(counts[status] ?? 0),"
        }
        text += "\"total\":\(counts.values.reduce(0, +)),\"view\":\"\(LiveJSON.viewLabel(live.view))\"}"
        return answer(headers, Array(text.utf8), live.view)
    }

    /// A live answer: 304 when `If-None-Match` names its ETag, else 200 with `body`.
    static func answer(_ requestHeaders: HTTPFields, _ body: [UInt8], _ view: LivenessView) -> SidecarContext.Reply {
        var headers = HTTPFields()
        headers.reserveCapacity(8)  // room for what the writer adds (length, date, server)
        headers.append(HTTPField(name: .cacheControl, value: "no-cache"))
        headers.append(HTTPField(name: viewAt, value: CivilCalendar.rfc3339(micros: view.takenAtMicros)))
        return SidecarContext.conditional(requestHeaders, body: body, etag: ReadCache.etag(of: body), contentType: "application/json", headers: headers)
    }

    /// `Heartbeat-View-At`: when the liveness view an answer comes from was taken (RFC 3339).
    static let viewAt = HTTPField.Name("Heartbeat-View-At")!

    /// The `{uuid}` path parameter, or 400.
    static func applicationUUID(_ context: BasicRequestContext) throws -> ApplicationUUID {
        guard let text = context.parameters.get("uuid"), let uuid = ApplicationUUID(text) else {
            throw APIError.badRequest("not an application UUID: \(context.parameters.get("uuid") ?? "")")
        }
        return uuid
    }
}

/// Counts by state for `/v1/summary` and the status page, computed once per view and registry
/// (a pass over every application) however many readers ask in between.
final class SummaryMemo: Sendable {
    private struct Memo {
        var viewSequence: UInt64 = .max
        var viewTakenAt: Int64 = 0
        var registryVersion: Int64 = -1
        var counts: [LivenessStatus: Int] = [:]
    }

    private let memo = Locked(Memo())

    func counts(of live: LiveStatus) -> [LivenessStatus: Int] {
        let key = (live.view.sequence, live.view.takenAtMicros, live.registry.version)
        if let cached = memo.withLock({ $0.viewSequence == key.0 && $0.viewTakenAt == key.1 && $0.registryVersion == key.2 ? $0.counts : nil }) {
            return cached
        }
        let counts = live.counts()
        memo.withLock { $0 = Memo(viewSequence: key.0, viewTakenAt: key.1, registryVersion: key.2, counts: counts) }
        return counts
    }
}
