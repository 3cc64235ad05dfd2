import Atomics
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The hottest requests — `GET`/`HEAD /v1/apps/{uuid}`, `/v1/summary` and `/ping/{uuid}[/{action}]` — answered on the
/// connection's event loop, in the channel pipeline, without a task, an executor hop or the async
/// channel's writer: those cost several times the answer itself (a status read is a dictionary
/// lookup and a few hundred bytes of JSON). The answer is the routes' own function
/// (``StatusAPI/application(_:headers:_:)``, ``StatusAPI/summary(headers:_:)``), so auth, ETags
/// and the body are the same by construction.
///
/// A beat or `stop` ping (or a malformed one) is answered here whatever its outcome
/// (``PingAPI/eventLoopAnswer(path:query:headers:_:)`` writes every status itself, and a ping handed
/// on after the gate took it would count twice); a ping that starts, ends or logs a run stores it
/// in PostgreSQL and goes to the router.
/// Of the reads, only a plain success (200 or 304) is answered here. Anything else goes on to the router as if
/// this handler were not there: another path or method, an error of any kind (401, 403, 404, 503
/// — the router writes its error body), a request with a `Connection` header (the router owns
/// closing), and every request that arrives while an earlier request of the connection is still
/// with the router — HTTP/1.1 answers pipelined requests in order, and the router's answer is not
/// written yet.
final class LiveReadHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What happens to the parts of the request being read.
    private enum Current {
        case between
        case forwarding
        /// Answered here once its end arrives (a body, if any, is read and dropped).
        case answering(SidecarContext.Reply, headOnly: Bool)
    }

    private let shared: SidecarContext
    private let serverName: String
    private var current = Current.between
    /// Requests handed to the router whose response has not ended yet.
    private var withRouter = 0
    private var date = HTTPDate()

    init(shared: SidecarContext, serverName: String) {
        self.shared = shared
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), current) {
        case (.head(let head), _):
            if withRouter == 0, let reply = answer(head) {
                current = .answering(reply, headOnly: head.method == .head)
                return
            }
            withRouter += 1
            current = .forwarding
        case (.body, .answering):
            return
        case (.end, .answering(let reply, let headOnly)):
            current = .between
            write(reply, headOnly: headOnly, context: context)
            return
        case (.end, _):
            current = .between
        case (.body, _):
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { withRouter = max(0, withRouter - 1) }
        context.write(data, promise: promise)
    }

    /// The reply when this request is one answered here and succeeds; nil sends it to the router.
    private func answer(_ head: HTTPRequest) -> SidecarContext.Reply? {
        guard head.method == .get || head.method == .head, head.headerFields[.connection] == nil, let target = head.path else { return nil }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        if path.utf8.starts(with: "/ping/".utf8) {
            let query = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(target[target.index(after: $0)...]) }
            return PingAPI.eventLoopAnswer(path: path, query: query, headers: head.headerFields, shared.collector)
        }
        do {
            if path == "/v1/summary" { return try StatusAPI.summary(headers: head.headerFields, shared) }
            let prefix = "/v1/apps/"
            guard path.hasPrefix(prefix) else { return nil }
            let uuid = path.dropFirst(prefix.count)
            guard uuid.count == 36 else { return nil }
            return try StatusAPI.application(uuid, headers: head.headerFields, shared)
        } catch {
            return nil
        }
    }

    /// Writes `reply` with the headers the router's response would carry (Hummingbird adds
    /// `Content-Length`, `Date` and `Server`); HEAD gets them without the body.
    private func write(_ reply: SidecarContext.Reply, headOnly: Bool, context: ChannelHandlerContext) {
        var fields = reply.headers  // a reply never carries these three, so they are appended
        fields.append(HTTPField(name: .contentLength, value: String(reply.body.count)))
        fields.append(HTTPField(name: .server, value: serverName))
        fields.append(HTTPField(name: .date, value: date.now()))
        context.write(wrapOutboundOut(.head(HTTPResponse(status: reply.status, headerFields: fields))), promise: nil)
        if !headOnly, !reply.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
            buffer.writeBytes(reply.body)
            context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        }
        // Counted before it is sent, so a client that reads /metrics after the answer sees it.
        shared.eventLoopAnswers.wrappingIncrement(ordering: .relaxed)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
