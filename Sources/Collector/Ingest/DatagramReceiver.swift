import Atomics
import CMmsg
import Foundation
import Protocol

#if canImport(Glibc)
import Glibc
#endif

/// Reads heartbeat datagrams from one UDP socket on its own thread, validates every record and
/// pushes accepted rows into its own ``RowRing``.
///
/// Several receivers share one address with `SO_REUSEPORT`; the kernel spreads senders over them.
/// Per batch the thread makes one `recvmmsg` (up to 64 datagrams into preallocated buffers), one
/// clock read and one registry load; per record it only decodes, validates, checks the
/// application's budget and pushes — no allocation, lock or other system call. A full ring is
/// counted as `overload`; every datagram is counted (received = queued + Σ rejected at every batch
/// boundary).
///
/// The budget check here is a guard for the rings: each receiver holds its own
/// ``AppRateLimiter`` (plain memory, this thread only) with the whole per-application budget, and
/// consults it only while its ring is at least a quarter full — the state a flood produces — so
/// one application flooding at line rate is refused (`rate_limited`) before it can fill the ring
/// and push everyone else's records out as `overload`, while normal traffic pays nothing for it.
/// Past the receivers, the drain's limiter holds every application to exactly one budget.
public final class DatagramReceiver: @unchecked Sendable {
    /// Datagrams per `recvmmsg`.
    static let batchSize = 64
    /// How long a blocked read waits before the thread looks at its stop flag.
    static let pollMillis = 100

    /// Where accepted rows go; drained by the ingest drain.
    public let ring: RowRing
    /// What this receiver counted.
    public let counters = IngestCounters()
    /// The socket's receive buffer as the kernel granted it, in bytes.
    public let receiveBufferBytes: Int
    /// The port actually bound (the configured one, or the kernel's pick for port 0).
    public let boundPort: UInt16
    /// With auto-registration on: the UUIDs of unknown applications seen, for the registrar (best
    /// effort: when full, a UUID is skipped — the record is counted `unknown_app` either way).
    public let unknownApplications: SPSCRing<ApplicationUUID>?

    private let socket: Int32
    private let registry: RegistryHolder
    private let rateLimit: (recordsPerSecond: Int, burst: Int)
    /// Where a validated record the ring has no room for still reaches liveness (nil in tests of
    /// the receiver alone).
    private let lastSeen: LastSeenTable?
    private let worker = WorkerThread()

    /// Errors opening the socket.
    public struct SocketError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens and binds a socket on `address` with `SO_REUSEPORT` and asks for a receive buffer of
    /// `receiveBufferBytes`; the thread starts with ``start()``. With `reportUnknownApplications`,
    /// the UUIDs of unknown applications are offered to ``unknownApplications``.
    public init(
        address: ListenAddress, registry: RegistryHolder, ringCapacity: Int, receiveBufferBytes requested: Int,
        rateLimit: (recordsPerSecond: Int, burst: Int) = (0, 0), reportUnknownApplications: Bool = false, lastSeen: LastSeenTable? = nil
    ) throws(SocketError) {
        self.rateLimit = rateLimit
        self.lastSeen = lastSeen
        unknownApplications = reportUnknownApplications ? SPSCRing(capacity: 4_096) : nil
        let (socket, storage, length, family) = try Self.openSocket(for: address)
        var one: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        var bufferSize = Int32(clamping: requested)
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        var granted: Int32 = 0
        var grantedLength = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(socket, SOL_SOCKET, SO_RCVBUF, &granted, &grantedLength)
        var timeout = timeval(tv_sec: 0, tv_usec: Self.pollMillis * 1000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = storage
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(socket)
            throw SocketError(description: "cannot bind UDP \(address): \(message)")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &actualLength) }
        }
        boundPort = withUnsafeBytes(of: &actual) { raw in
            UInt16(bigEndian: family == AF_INET6 ? raw.load(as: sockaddr_in6.self).sin6_port : raw.load(as: sockaddr_in.self).sin_port)
        }
        self.socket = socket
        self.registry = registry
        self.ring = RowRing(capacity: ringCapacity)
        // Linux reports twice the usable size it granted.
        self.receiveBufferBytes = Int(granted) / 2
    }

    deinit {
        close(socket)
    }

    /// A new UDP socket of `address`'s family, with the address as `sockaddr_storage`.
    private static func openSocket(
        for address: ListenAddress
    ) throws(SocketError) -> (socket: Int32, storage: sockaddr_storage, length: socklen_t, family: Int32) {
        let (storage, length, family): (sockaddr_storage, socklen_t, Int32)
        do throws(ListenAddress.ParseError) {
            (storage, length, family) = try address.socketAddress()
        } catch {
            throw SocketError(description: "bad address \(address): \(error)")
        }
        let socket = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw SocketError(description: "socket(): \(String(cString: strerror(errno)))") }
        return (socket, storage, length, family)
    }

    /// Fails when some other socket already holds `address` — typically a collector left running,
    /// which with SO_REUSEPORT would otherwise silently receive part of the traffic. The probe
    /// binds without SO_REUSEPORT, so it conflicts with any earlier binding of the port.
    public static func checkPortIsFree(_ address: ListenAddress) throws(SocketError) {
        let (probe, storage, length, _) = try openSocket(for: address)
        defer { close(probe) }
        var copy = storage
        let bound = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) }
        }
        if bound != 0 {
            let reason = errno == EADDRINUSE
                ? "another process (a collector still running?) already uses it; stop it, or pass --share-udp-port to share the port on purpose"
                : String(cString: strerror(errno))
            throw SocketError(description: "UDP \(address) is not free: \(reason)")
        }
    }

    /// Starts the reading thread.
    public func start() {
        worker.start(name: "heartbeat-receiver", qualityOfService: .userInteractive) { [self] in readUntilStopped() }
    }

    /// Asks the thread to stop and waits until it has (at most one poll period, plus the batch
    /// in hand). After this, nothing more enters the ring.
    public func stop() {
        worker.stop()
    }

    private func readUntilStopped() {
        let batch = Self.batchSize
        let bufferSize = WireFormat.maximumDatagramSize
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: batch * bufferSize, alignment: 64)
        let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: batch)
        let messages = UnsafeMutablePointer<hb_mmsghdr>.allocate(capacity: batch)
        defer {
            buffers.deallocate()
            vectors.deallocate()
            messages.deallocate()
        }
        // The headers are set once: the kernel only writes msg_len and msg_flags (there is no
        // address or control buffer to reset).
        for index in 0..<batch {
            vectors[index] = iovec(iov_base: buffers + index * bufferSize, iov_len: bufferSize)
            messages[index] = hb_mmsghdr()
            messages[index].msg_hdr.msg_iov = vectors + index
            messages[index].msg_hdr.msg_iovlen = 1
        }
        var totals = ReceiverTotals()
        var rateLimiter = AppRateLimiter(recordsPerSecond: rateLimit.recordsPerSecond, burst: rateLimit.burst)
        let waitForOne = hb_msg_waitforone()
        while !worker.isStopRequested {
            let count = hb_recvmmsg(socket, messages, UInt32(batch), waitForOne)
            guard count > 0 else { continue }  // timeout (EAGAIN) or EINTR: look at the stop flag
            let validator = registry.snapshot.validator
            let applications = validator.applications
            let nowMicros = WallClock.nowMicros()
            // Each datagram's registry lookups are started one datagram ahead, so their cache
            // misses overlap the previous datagram's validation instead of stalling it.
            Self.prefetchApplications(of: messages[0], at: buffers, in: applications)
            for index in 0..<Int(count) {
                if index + 1 < Int(count) {
                    Self.prefetchApplications(of: messages[index + 1], at: buffers + (index + 1) * bufferSize, in: applications)
                }
                let length = Int(messages[index].msg_len)
                guard messages[index].msg_hdr.msg_flags & Int32(MSG_TRUNC) == 0,
                    let records = WireFormat.recordCount(datagramLength: length)
                else {
                    totals.received &+= 1
                    totals.reject(.malformed)
                    continue
                }
                totals.received &+= UInt64(records)
                let datagram = buffers + index * bufferSize
                // Under pressure (a quarter of the ring used), apply the per-application guard.
                let guarded = ring.occupancy >= ring.capacity / 4
                for record in 0..<records {
                    do throws(RejectionReason) {
                        let validated = try validator.validate(datagram + record * WireFormat.recordSize, nowMicros: nowMicros)
                        let row = HeartbeatRow(
                            applicationID: Int32(truncatingIfNeeded: validated.applicationID), kind: validated.record.kind,
                            instance: validated.record.instance, sequence: validated.record.sequence,
                            receivedAtMicros: nowMicros, sentAtMicros: validated.record.sentAtMicros,
                            status: validated.record.status, intervalMillis: validated.record.intervalMillis)
                        if guarded, rateLimiter?.admit(row) == false {
                            totals.reject(.rateLimited)
                            totals.noteUnqueued(validated, nowMicros: nowMicros, lastSeen: lastSeen)
                        } else if ring.push(row) {
                            totals.pushed &+= 1
                        } else {
                            totals.reject(.overload)
                            totals.noteUnqueued(validated, nowMicros: nowMicros, lastSeen: lastSeen)
                        }
                    } catch {
                        totals.reject(error)
                        if error == .unknownApplication, let unknownApplications {
                            _ = unknownApplications.push(ApplicationUUID(ofRecordAt: datagram + record * WireFormat.recordSize))
                        }
                    }
                }
            }
            counters.publish(totals)
        }
        counters.publish(totals)
    }

    /// Starts loading the registry slots of the records in the datagram `message` received into
    /// `datagram` (the bytes are unvalidated: a wrong guess costs nothing).
    @inline(__always)
    private static func prefetchApplications(of message: hb_mmsghdr, at datagram: UnsafeMutableRawPointer, in applications: ApplicationTable) {
        guard let records = WireFormat.recordCount(datagramLength: Int(message.msg_len)) else { return }
        for record in 0..<records {
            applications.prefetchEntry(for: ApplicationUUID(ofRecordAt: datagram + record * WireFormat.recordSize))
        }
    }
}

extension DatagramReceiver: CollectorService {
    public var serviceName: String { "UDP receiver" }
}
