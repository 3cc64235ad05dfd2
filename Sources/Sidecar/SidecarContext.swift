import Atomics
import Collector
import Foundation
import HTTPTypes
import Hummingbird

/// What every API handler shares: the collector, the database pool, the history cache, the
/// registry write gate and the management settings.
final class SidecarContext: Sendable {
    let collector: any SidecarCollector
    let database: DatabaseWork
    /// Where history reads run: a streaming replica when configured, else ``database``.
    let historyReads: HistoryReads
    let cache = ReadCache()
    let writes: RegistryWriteGate
    let summaries = SummaryMemo()
    /// The bearer token management calls need; nil disables management.
    let adminToken: String?
    /// The token read routes need (`--read-token`); nil leaves them open. The admin token reads too.
    let readToken: String?
    /// How long a rotated-out secret stays valid.
    let previousSecretSeconds: Int

    /// The server's connection limits, for `/metrics` (nil when only listing routes).
    let connections: ConnectionGuard?

    /// What the ping routes' run writes did.
    let runWrites = RunWriteCounters()
    /// Provisioning by ping (`?create=1`): off without settings.
    let provisioner: PingProvisioner

    /// Status reads and pings ``LiveReadHandler`` answered (`heartbeat_http_event_loop_answers_total`).
    let eventLoopAnswers = ManagedAtomic<UInt64>(0)

    /// Whether `/metrics/apps` is served (`--app-metrics`).
    let applicationMetrics: Bool

    init(
        collector: any SidecarCollector, adminToken: String?, readToken: String? = nil, previousSecretSeconds: Int, connections: ConnectionGuard?,
        applicationMetrics: Bool = false, provisioning: PingProvisioningSettings? = nil
    ) {
        provisioner = PingProvisioner(provisioning)
        self.applicationMetrics = applicationMetrics
        self.collector = collector
        self.connections = connections
        self.database = DatabaseWork(url: collector.databaseURL)
        self.historyReads = HistoryReads(primary: database, primaryURL: collector.databaseURL, replicaURL: collector.databaseReadURL)
        self.writes = RegistryWriteGate(collector: collector)
        self.adminToken = adminToken
        self.readToken = readToken
        self.previousSecretSeconds = previousSecretSeconds
        self.readCookieValue = readToken.map { WebhookSignature.header(for: [], deliveryID: "read-cookie", timestampSeconds: 0, secret: Array($0.utf8)) }
    }

    /// The name of the cookie that carries read access for a browser.
    static let readCookieName = "heartbeat_read"
    /// What that cookie holds: a keyed hash of the read token (the token itself never sits in a
    /// cookie jar), or nil without a read token.
    let readCookieValue: String?

    /// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
    /// (RFC 9110 section 11.1), so `bearer` works.
    static func bearerToken(_ headers: HTTPFields) -> String? {
        guard let header = headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// Checks `Authorization: Bearer <token>` in constant time: 401 (with `WWW-Authenticate`)
    /// without one, 403 when wrong (or when no token is configured: management is then disabled).
    func requireAdmin(_ request: Request) throws {
        guard let given = Self.bearerToken(request.headers) else { throw APIError.unauthorized }
        guard let adminToken else {
            throw APIError(status: .forbidden, code: "management_disabled", message: "management is disabled: start the collector with --admin-token")
        }
        guard Self.constantTimeEqual(given, adminToken) else { throw APIError.forbidden }
    }

    /// Lets a read through when no read token is configured, or when the request carries the read
    /// token or the admin token as a bearer token, or the read cookie; otherwise 401 (no
    /// credentials) or 403 (wrong ones).
    func requireRead(_ request: Request) throws {
        try requireRead(request.headers)
    }

    /// ``requireRead(_:)`` on a request's header fields (the event-loop fast path has no `Request`).
    func requireRead(_ headers: HTTPFields) throws {
        guard let readToken else { return }
        if let given = Self.bearerToken(headers) {
            let admin = adminToken.map { Self.constantTimeEqual(given, $0) } ?? false
            guard Self.constantTimeEqual(given, readToken) || admin else { throw APIError.forbiddenRead }
            return
        }
        if let cookie = Self.cookie(Self.readCookieName, in: headers), let expected = readCookieValue, Self.constantTimeEqual(cookie, expected) {
            return
        }
        throw APIError.unauthorizedRead
    }

    /// Whether `token` is the read token (for `?token=` on the status page).
    func isReadToken(_ token: String) -> Bool {
        readToken.map { Self.constantTimeEqual(token, $0) } ?? false
    }

    /// The value of cookie `name` in the request's `Cookie` headers.
    static func cookie(_ name: String, in headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name { return String(parts[1]) }
            }
        }
        return nil
    }

    /// Compares two tokens in time that depends only on the expected one's length.
    static func constantTimeEqual(_ given: String, _ expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in 0..<expected.count { difference |= expected[index] ^ (index < given.count ? given[index] : 0) }
        return difference == 0
    }

    /// A JSON response.
    static func json(_ status: HTTPResponse.Status, _ body: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A history read under `key` — the route and its parsed, known parameters in a fixed order, so
    /// that unknown parameters (a nonce) and their order cannot multiply entries — answered from
    /// ``ReadCache`` (at most its TTL old) once no registry write is in flight: 304 when
    /// `If-None-Match` carries the current ETag, else the body; either way with `ETag`,
    /// `Cache-Control: max-age=1` and `Age` (0 for an answer PostgreSQL just gave this reader;
    /// whole seconds since it answered, rounded up, for one from the cache).
    func cachedRead(
        _ request: Request, key: String, contentType: String = "application/json", produce: @escaping @Sendable () async throws -> [UInt8]
    ) async throws -> Response {
        await writes.awaitSettled()
        let (entry, hit) = try await cache.lookup(key, produce: produce)
        // Rounded up, so that max-age minus Age never lets a client keep an answer past a second.
        let ageMicros = hit ? max(0, ReadCache.nowMicros() - entry.producedMicros) : 0
        var headers: HTTPFields = [.eTag: entry.etag, .cacheControl: "max-age=1", .age: String((ageMicros + 999_999) / 1_000_000)]
        if let source = entry.readSource { headers[Self.readSourceField] = source }
        return Self.conditional(request, body: entry.body, etag: entry.etag, contentType: contentType, headers: headers)
    }

    /// Which server answered a history read, when a replica is configured: `replica`, or
    /// `primary; reason=…` (``ReplicaRouting/Route/header``).
    static let readSourceField = HTTPField.Name("Heartbeat-Read-Source")!

    /// The history cache's answer for `key` once no registry write is in flight.
    func historyEntry(key: String, produce: @escaping @Sendable () async throws -> [UInt8]) async throws -> ReadCache.Entry {
        await writes.awaitSettled()
        return try await cache.answer(for: key, produce: produce)
    }

    /// The body of ``historyEntry(key:produce:)``.
    func history(key: String, produce: @escaping @Sendable () async throws -> [UInt8]) async throws -> [UInt8] {
        try await historyEntry(key: key, produce: produce).body
    }

    /// 304 with `headers` when the request's `If-None-Match` names `etag` (or `*`), else 200 with
    /// the body.
    static func conditional(_ request: Request, body: [UInt8], etag: String, contentType: String, headers: HTTPFields) -> Response {
        conditional(request.headers, body: body, etag: etag, contentType: contentType, headers: headers).response
    }

    /// ``conditional(_:body:etag:contentType:headers:)`` as a ``Reply``, from the request's header fields.
    static func conditional(_ requestHeaders: HTTPFields, body: [UInt8], etag: String, contentType: String, headers: HTTPFields) -> Reply {
        var headers = headers
        headers[.eTag] = etag
        if let match = requestHeaders[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0.trimmingCharacters(in: .whitespaces) == "*" }) {
            return Reply(status: .notModified, headers: headers, body: [])
        }
        headers[.contentType] = contentType
        return Reply(status: .ok, headers: headers, body: body)
    }

    /// An answer before it is a Hummingbird `Response`: what the router and the event-loop fast
    /// path (``LiveReadHandler``) both write.
    struct Reply: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        /// Empty for 304.
        var body: [UInt8]

        var response: Response {
            status == .notModified
                ? Response(status: status, headers: headers)
                : Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// What status reads answer from: the collector's registry and liveness view. 503 (with
    /// `Retry-After`) before the monitor's first view, or on a collector without a monitor.
    func liveStatus() throws -> LiveStatus {
        let live = collector.liveStatus()
        if live.view.source == .lastSeenOnly {
            throw APIError(
                status: .serviceUnavailable, code: "no_monitor",
                message: "this collector runs without a liveness monitor (--no-monitor): ask one that monitors")
        }
        if live.view.sequence == 0 {
            throw APIError(status: .serviceUnavailable, code: "starting", message: "the liveness monitor is loading the registry; try again in a second", retryAfterSeconds: 1)
        }
        return live
    }

    /// A registry write through the API: `write` runs on a pooled connection and is answered once
    /// this collector's memory holds it; the history cache is emptied.
    func registryWrite<Value: Sendable>(_ write: @escaping @Sendable (PostgresConnection) throws -> Value) async throws -> Value {
        let database = database
        let value = try await writes.write {
            try await database.run { connection in
                let value = try write(connection)
                return (value, registryVersion: try ApplicationStore.registryVersion(on: connection))
            }
        }
        cache.invalidate()
        return value
    }

    /// The request's JSON object body (at most `limit` bytes) decoded as `Body`, refusing unknown
    /// fields and wrong types; also which fields were present and which were `null`.
    static func jsonBody<Body: Decodable>(
        _ request: Request, as type: Body.Type, allowed: Set<String>, limit: Int = 16_384
    ) async throws -> (body: Body, present: Set<String>, nulls: Set<String>) {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw APIError.tooLarge(limit)  // NIO's "too many bytes": the only way collecting fails here
        }
        let data = buffer.readableBytes > 0 ? Data(buffer.readableBytesView) : Data("{}".utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw APIError.badRequest("the body is not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(allowed)
        guard unknown.isEmpty else { throw APIError.badRequest("unknown field(s): \(unknown.sorted().joined(separator: ", "))") }
        do {
            let body = try JSONDecoder().decode(Body.self, from: data)
            return (body, Set(object.keys), Set(object.filter { $0.value is NSNull }.keys))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw APIError.badRequest("\(context.codingPath.map(\.stringValue).joined(separator: ".")): wrong type")
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError.badRequest("\(key.stringValue): required")
        } catch {
            throw APIError.badRequest("the body does not match: \(error)")
        }
    }

    /// An integer query parameter within `range` (default when absent).
    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("\(name): \(text) is not a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Query parameter `name` as a time (RFC 3339 or Unix µs); nil when absent, 400 naming it when
    /// it is neither.
    static func timestamp(_ request: Request, _ name: String) throws(APIError) -> Int64? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let micros = APIModels.parseTimestamp(text) else { throw APIError.badRequest("\(name): not an RFC 3339 time or Unix microseconds") }
        return micros
    }
}
