import Atomics
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The sidecar's connection limits, carried out on live channels: ``ConnectionAdmission`` decides
/// who may hold a connection, and every request must arrive whole (head to end) within
/// ``requestTimeout`` — a header or body dripped a byte at a time cannot hold a connection for
/// minutes; a connection with no request in progress (idle keep-alive, or a header that never
/// completes) is closed after ``idleTimeout``. The tracker keeps that timeout rather than the
/// server's own handler, which never sees the requests ``LiveReadHandler`` answers and would close
/// a busy connection as idle. One instance per server; each connection gets a ``ConnectionTracker``.
final class ConnectionGuard: @unchecked Sendable {
    let admission: ConnectionAdmission
    let requestTimeout: TimeAmount
    let idleTimeout: TimeAmount
    /// Connections closed because every slot was taken (no idle one to close, reserve full).
    let refused = ManagedAtomic<UInt64>(0)
    /// Idle connections closed to make room for a newcomer.
    let idleClosed = ManagedAtomic<UInt64>(0)
    /// Connections closed because a request did not arrive whole in time.
    let timedOut = ManagedAtomic<UInt64>(0)
    /// Connections closed after the idle timeout with no request in progress.
    let idleTimedOut = ManagedAtomic<UInt64>(0)

    private struct Tracked {
        let channel: any Channel
        var busy: Bool
        var lastActiveNanos: UInt64
        let reserved: Bool
    }

    private let lock = NSLock()
    private var open: [Int: Tracked] = [:]
    private var nextID = 0

    init(admission: ConnectionAdmission, requestTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.admission = admission
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
    }

    /// A handler for one new connection's pipeline.
    func makeTracker() -> ConnectionTracker { ConnectionTracker(guard: self) }

    /// Connections open right now.
    var openCount: Int { lock.withLock { open.count } }

    /// Admits `channel`: its id and whether it holds a reserve slot, or nil when it must be closed.
    fileprivate func opened(_ channel: any Channel) -> (id: Int, reserved: Bool)? {
        let now = DispatchTime.now().uptimeNanoseconds
        let (slot, victim): ((id: Int, reserved: Bool)?, (any Channel)?) = lock.withLock {
            let view = open.map { ConnectionAdmission.Open(id: $0.key, busy: $0.value.busy, lastActiveNanos: $0.value.lastActiveNanos, reserved: $0.value.reserved) }
            var victim: (any Channel)?
            let reserved: Bool
            switch admission.decide(open: view) {
            case .admit:
                reserved = false
            case .admitClosing(let id):
                victim = open.removeValue(forKey: id)?.channel
                reserved = false
            case .admitReserved:
                reserved = true
            case .refuse:
                return (nil, nil)
            }
            nextID += 1
            open[nextID] = Tracked(channel: channel, busy: false, lastActiveNanos: now, reserved: reserved)
            return ((nextID, reserved), victim)
        }
        if let victim {
            idleClosed.wrappingIncrement(ordering: .relaxed)
            victim.close(promise: nil)
        }
        if slot == nil { refused.wrappingIncrement(ordering: .relaxed) }
        return slot
    }

    fileprivate func setBusy(_ id: Int, _ busy: Bool) {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.withLock {
            open[id]?.busy = busy
            open[id]?.lastActiveNanos = now
        }
    }

    fileprivate func closed(_ id: Int) {
        _ = lock.withLock { open.removeValue(forKey: id) }
    }
}

/// One connection's view of the ``ConnectionGuard``: registers the connection, marks it busy
/// from a request's head to its response's end, closes it when a request takes longer than the
/// guard's timeout to arrive or when it stays idle past the idle timeout, and on a reserve slot
/// answers anything but health with 503.
final class ConnectionTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let connectionGuard: ConnectionGuard
    private var id: Int?
    private var reserved = false
    /// Parts of a request refused on a reserve slot are dropped until its end.
    private var discarding = false
    /// Requests whose head has arrived and whose response has not ended (pipelining allows several).
    private var inProgress = 0
    /// When the request being read began (its head), while its end has not arrived.
    private var requestStartedNanos: UInt64?
    /// Counts requests read, so a deadline knows whether the request it watches is still the one.
    private var requestsRead: UInt64 = 0
    private var requestDeadline: Scheduled<Void>?
    /// When the connection last had something to do (a request read, a response ended).
    private var lastActiveNanos: UInt64 = 0
    private var idleDeadline: Scheduled<Void>?

    // Neither timer is armed per request: a request whose head and end arrive in one read (almost
    // every one) arms none, and the idle timer, once armed, only looks at `lastActiveNanos` when
    // it fires — so a busy connection pays no scheduling for either.

    init(guard connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let slot = connectionGuard.opened(context.channel) else {
            context.close(promise: nil)
            return
        }
        id = slot.id
        reserved = slot.reserved
        lastActiveNanos = Self.now()
        armIdleTimer(context: context, in: connectionGuard.idleTimeout)
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Wakes after `delay`: closes the connection when nothing was in progress for the whole idle
    /// timeout, else sleeps again until that could first be true.
    private func armIdleTimer(context: ChannelHandlerContext, in delay: TimeAmount) {
        idleDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            idleDeadline = nil
            let timeout = UInt64(connectionGuard.idleTimeout.nanoseconds)
            let quiet = Self.now() &- lastActiveNanos
            if inProgress == 0, quiet >= timeout {
                connectionGuard.idleTimedOut.wrappingIncrement(ordering: .relaxed)
                context.close(promise: nil)
            } else {
                armIdleTimer(context: context, in: .nanoseconds(Int64(inProgress == 0 ? timeout - quiet : timeout)))
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    /// A request still incomplete when the read burst ends gets its deadline now, counted from
    /// its head.
    func channelReadComplete(context: ChannelHandlerContext) {
        if let started = requestStartedNanos, requestDeadline == nil {
            let watched = requestsRead
            let remaining = max(0, connectionGuard.requestTimeout.nanoseconds - Int64(Self.now() &- started))
            requestDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(remaining)) { [self] in
                requestDeadline = nil
                guard requestStartedNanos != nil, requestsRead == watched else { return }
                connectionGuard.timedOut.wrappingIncrement(ordering: .relaxed)
                context.close(promise: nil)
            }
        }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            inProgress += 1
            requestsRead &+= 1
            let now = Self.now()
            requestStartedNanos = now
            lastActiveNanos = now
            if inProgress == 1, let id { connectionGuard.setBusy(id, true) }
            if reserved {
                let path = head.path.map { String($0.prefix { $0 != "?" }) } ?? ""
                if !ConnectionAdmission.reservePaths.contains(path) {
                    discarding = true
                    refuse(context: context)
                    return
                }
            }
        case .body:
            if discarding { return }
        case .end:
            requestStartedNanos = nil
            requestDeadline?.cancel()
            requestDeadline = nil
            if discarding {
                discarding = false
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        guard case .end = part else {
            context.write(data, promise: promise)
            return
        }
        inProgress = max(0, inProgress - 1)
        lastActiveNanos = Self.now()
        if inProgress == 0, let id { connectionGuard.setBusy(id, false) }
        if reserved {
            // A reserve slot answers one health check and makes room again.
            let channel = context.channel
            context.writeAndFlush(data).whenComplete { _ in channel.close(promise: nil) }
            promise?.succeed()
            return
        }
        context.write(data, promise: promise)
    }

    /// Answers 503 on a reserve slot and closes it.
    private func refuse(context: ChannelHandlerContext) {
        let body = #"{"error":"too_many_connections","message":"every connection is busy; only /healthz and /readyz are answered now"}"#
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        let head = HTTPResponse(status: .serviceUnavailable, headerFields: [
            .contentType: "application/json", .contentLength: String(buffer.readableBytes), .connection: "close", .retryAfter: "1",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func release() {
        requestDeadline?.cancel()
        requestDeadline = nil
        idleDeadline?.cancel()
        idleDeadline = nil
        if let id { connectionGuard.closed(id) }
        id = nil
    }
}
