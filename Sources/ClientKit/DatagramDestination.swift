import CMmsg

#if canImport(Glibc)
import Glibc
import ThreadSafety
#endif

/// A connected, non-blocking UDP socket to a ``HeartbeatEndpoint``, resolved and re-resolved
/// without ever blocking a sender.
///
/// - A numeric address is resolved at once in `init` (no DNS is involved).
/// - A host name is resolved on a background thread; records sent before it completes are
///   counted as unresolved, not sent late. ``waitUntilResolved(timeoutMillis:)`` waits for it
///   (for one-shot tools that must not lose their single record).
/// - After a send fails (collector port closed, network unreachable), the name is resolved again
///   in the background, at most once a second, so a collector that moved is found again.
///
/// In the default non-blocking mode a full socket buffer drops the record (counted as busy); in
/// blocking mode a send waits for room (load generators and agents that prefer back-pressure).
///
/// Sends happen under a mutex so that the socket cannot be closed and replaced under a sender; the
/// mutex is uncontended for a normal client and never held across DNS.
final class DatagramDestination: Sendable {
    /// Shortest time between two resolutions of the same name.
    static let resolutionBackoffNanos: UInt64 = 1_000_000_000

    private struct State: ~Copyable {
        var socket: Int32 = -1
        var resolving = false
        var lastResolutionStart: UInt64 = 0
        var isClosed = false
    }

    let endpoint: HeartbeatEndpoint
    let counters = SendCounters()
    /// Whether sends wait for room in the socket buffer.
    let isBlocking: Bool
    private let state = Locked(State())
    private var sendFlags: Int32 { isBlocking ? 0 : Int32(MSG_DONTWAIT) }

    init(endpoint: HeartbeatEndpoint, blocking: Bool = false) {
        self.endpoint = endpoint
        self.isBlocking = blocking
        if let socket = try? Self.connect(to: endpoint, numericOnly: true, blocking: blocking) {
            state.withLock { $0.socket = socket }
        } else {
            requestResolution()
        }
    }

    deinit {
        state.withLock { state in
            if state.socket >= 0 { Glibc.close(state.socket) }
        }
    }

    /// Whether an address is known.
    var isResolved: Bool { state.withLock { $0.socket >= 0 } }

    /// Waits until an address is known or `timeoutMillis` pass; returns whether one is known.
    func waitUntilResolved(timeoutMillis: Int) -> Bool {
        let deadline = WallClock.monotonicNanos() + UInt64(max(timeoutMillis, 0)) * 1_000_000
        while !isResolved {
            if WallClock.monotonicNanos() >= deadline { return false }
            requestResolution()
            usleep(5_000)
        }
        return true
    }

    /// Sends one datagram of `records` records (the bytes at `datagram`).
    @discardableResult
    func send(_ datagram: UnsafeRawBufferPointer, records: Int) -> SendOutcome {
        let outcome = state.withLock { state -> SendOutcome in
            guard state.socket >= 0 else { return .unresolved }
            let sent = Glibc.send(state.socket, datagram.baseAddress, datagram.count, sendFlags)
            if sent == datagram.count { return .sent }
            return Self.classify(errno)
        }
        finish(outcome, records: records)
        return outcome
    }

    /// Sends `count` datagrams described by `messages` with sendmmsg; `recordsIn(i)` tells how many
    /// records message `i` holds, for the counters. Returns how many datagrams were sent.
    @discardableResult
    func send(
        messages: UnsafeMutablePointer<hb_mmsghdr>, count: Int, recordsIn: (Int) -> Int
    ) -> Int {
        var sentDatagrams = 0
        var failure: SendOutcome = .sent
        state.withLock { state in
            guard state.socket >= 0 else {
                failure = .unresolved
                return
            }
            while sentDatagrams < count {
                let sent = hb_sendmmsg(
                    state.socket, messages + sentDatagrams, UInt32(count - sentDatagrams), sendFlags)
                if sent <= 0 {
                    if sent < 0 && errno == EINTR { continue }
                    failure = sent == 0 ? .busy : Self.classify(errno)
                    return
                }
                sentDatagrams += Int(sent)
            }
        }
        let sentRecords = (0..<sentDatagrams).reduce(0) { $0 + recordsIn($1) }
        if sentDatagrams > 0 { counters.record(.sent, records: sentRecords, datagrams: sentDatagrams) }
        if sentDatagrams < count {
            let lostRecords = (sentDatagrams..<count).reduce(0) { $0 + recordsIn($1) }
            finish(failure, records: lostRecords)
        }
        return sentDatagrams
    }

    /// Stops sending and closes the socket; later sends count as unresolved.
    func close() {
        state.withLock { state in
            state.isClosed = true
            if state.socket >= 0 { Glibc.close(state.socket) }
            state.socket = -1
        }
    }

    private func finish(_ outcome: SendOutcome, records: Int) {
        counters.record(outcome, records: records)
        switch outcome {
        case .unresolved, .failed: requestResolution()
        case .sent, .busy: break
        }
    }

    private static func classify(_ error: Int32) -> SendOutcome {
        switch error {
        case EAGAIN, EWOULDBLOCK, ENOBUFS: .busy
        default: .failed(error)
        }
    }

    /// Starts a background resolution unless one is running or one started less than a second ago.
    private func requestResolution() {
        let now = WallClock.monotonicNanos()
        let start = state.withLock { state -> Bool in
            guard !state.isClosed, !state.resolving else { return false }
            guard state.lastResolutionStart == 0 || now &- state.lastResolutionStart >= Self.resolutionBackoffNanos else {
                return false
            }
            state.resolving = true
            state.lastResolutionStart = now
            return true
        }
        guard start else { return }
        let started = BackgroundThread.start { [self] in
            let result = Result { () throws(ResolutionError) in try Self.connect(to: endpoint, numericOnly: false, blocking: isBlocking) }
            state.withLock { state in
                state.resolving = false
                guard case .success(let socket) = result else { return }
                if state.isClosed {
                    Glibc.close(socket)
                    return
                }
                if state.socket >= 0 { Glibc.close(state.socket) }
                state.socket = socket
            }
            if case .failure(let error) = result { counters.resolutionFailed(error.errorNumber) }
        }
        if !started {
            state.withLock { $0.resolving = false }
            counters.resolutionFailed(EAGAIN)
        }
    }

    /// A failed resolution or connection, with the `errno` (or EAI_* code) behind it.
    struct ResolutionError: Error {
        let errorNumber: Int32
    }

    /// Resolves `endpoint` and returns a non-blocking UDP socket connected to its first usable
    /// address. With `numericOnly`, only numeric addresses are accepted (no DNS).
    private static func connect(
        to endpoint: HeartbeatEndpoint, numericOnly: Bool, blocking: Bool
    ) throws(ResolutionError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = numericOnly ? AI_NUMERICHOST | AI_NUMERICSERV : AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let first = list else { throw ResolutionError(errorNumber: status) }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let socket = Glibc.socket(
                address.pointee.ai_family,
                Int32(SOCK_DGRAM.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue))
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socket >= 0 else {
                lastError = errno
                continue
            }
            if Glibc.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                return socket
            }
            lastError = errno
            Glibc.close(socket)
        }
        throw ResolutionError(errorNumber: lastError)
    }
}
