import Atomics
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The sidecar's connection limits, carried out on live channels: ``ConnectionAdmission`` decides
/// who may hold a connection, and every request must arrive whole (head to end) within
/// ``requestTimeout`` — a header or body dripped a byte at a time cannot hold a connection for
/// minutes. (Idle keep-alive connections, and a header that never completes, are closed by the
/// server's idle timeout.) One instance per server; each connection gets a ``ConnectionTracker``.
final class ConnectionGuard: @unchecked Sendable {
    let admission: ConnectionAdmission
    let requestTimeout: TimeAmount
    /// Connections closed because every slot was taken (no idle one to close, reserve full).
    let refused = ManagedAtomic<UInt64>(0)
    /// Idle connections closed to make room for a newcomer.
    let idleClosed = ManagedAtomic<UInt64>(0)
    /// Connections closed because a request did not arrive whole in time.
    let timedOut = ManagedAtomic<UInt64>(0)

    private struct Tracked {
        let channel: any Channel
        var busy: Bool
        var lastActiveNanos: UInt64
        let reserved: Bool
    }

    private let lock = NSLock()
    private var open: [Int: Tracked] = [:]
    private var nextID = 0

    init(admission: ConnectionAdmission, requestTimeout: TimeAmount) {
        self.admission = admission
        self.requestTimeout = requestTimeout
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
/// guard's timeout to arrive, and on a reserve slot answers anything but health with 503.
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
    private var requestDeadline: Scheduled<Void>?

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
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            if let id { connectionGuard.setBusy(id, true) }
            let path = head.path.map { String($0.prefix { $0 != "?" }) } ?? ""
            if reserved, !ConnectionAdmission.reservePaths.contains(path) {
                discarding = true
                refuse(context: context)
                return
            }
            let channel = context.channel
            let connectionGuard = connectionGuard
            requestDeadline = context.eventLoop.scheduleTask(in: connectionGuard.requestTimeout) {
                connectionGuard.timedOut.wrappingIncrement(ordering: .relaxed)
                channel.close(promise: nil)
            }
        case .body:
            if discarding { return }
        case .end:
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
        if let id { connectionGuard.setBusy(id, false) }
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
        if let id { connectionGuard.closed(id) }
        id = nil
    }
}
