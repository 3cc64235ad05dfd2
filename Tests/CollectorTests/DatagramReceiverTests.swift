import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

@Suite("Datagram receiver")
struct DatagramReceiverTests {
    let application = ApplicationUUID.random()

    /// A registry of one application, and a started receiver on `address` with a ring nobody drains.
    func startedReceiver(_ address: String, ringCapacity: Int, rateLimit: (Int, Int) = (0, 0)) throws -> DatagramReceiver {
        let registry = RegistryHolder(RegistrySnapshot(
            version: 1, applications: [ApplicationDescriptor(uuid: application, applicationID: 1)], allowedSkewMicros: 120_000_000))
        let receiver = try DatagramReceiver(
            address: ListenAddress(parsing: address), registry: registry, ringCapacity: ringCapacity, receiveBufferBytes: 1 << 20,
            rateLimit: rateLimit)
        receiver.start()
        return receiver
    }

    @Test("a full ring is counted as overload, never blocks, and the books balance")
    func overload() throws {
        // Nothing drains this ring: once 16 rows are in, the rest must be refused and counted.
        let receiver = try startedReceiver("127.0.0.1:0", ringCapacity: 16)
        let sender = UDPSender(port: receiver.boundPort)
        for datagram in 0..<3 {
            let records = (0..<16).flatMap { index in
                HeartbeatRecord(kind: .beat, application: application, instance: 1, sequence: UInt64(datagram * 16 + index + 1), sentAtMicros: 0).encoded()
            }
            sender.send(records)
        }
        let deadline = Date().addingTimeInterval(5)
        while receiver.counters.recordsReceived < 48, Date() < deadline { usleep(5_000) }
        receiver.stop()
        #expect(receiver.counters.recordsReceived == 48)
        #expect(receiver.counters.recordsQueued == 16)
        #expect(receiver.counters.recordsRejected(.overload) == 32)
        #expect(receiver.ring.occupancy == 16)
    }

    @Test("under pressure an application over its budget is refused before the ring, so its flood cannot fill it")
    func floodIsLimitedBeforeTheRing() throws {
        // Burst 40 at 10 records/s, a 1,024-row ring nobody drains: the first 256 records (a
        // quarter of the ring) enter unchecked, then the guard lets the burst (40, plus at most a
        // few refilled) through and refuses the rest as rate_limited; nothing is overload.
        let receiver = try startedReceiver("127.0.0.1:0", ringCapacity: 1_024, rateLimit: (10, 40))
        let sender = UDPSender(port: receiver.boundPort)
        for datagram in 0..<40 {
            sender.send((0..<16).flatMap { index in
                HeartbeatRecord(kind: .beat, application: application, instance: 1, sequence: UInt64(datagram * 16 + index + 1), sentAtMicros: 0).encoded()
            })
        }
        let deadline = Date().addingTimeInterval(5)
        while receiver.counters.recordsReceived < 640, Date() < deadline { usleep(5_000) }
        receiver.stop()
        let queued = receiver.counters.recordsQueued
        #expect(receiver.counters.recordsReceived == 640)
        #expect(queued >= 296 && queued <= 316, "queued \(queued)")
        #expect(receiver.counters.recordsRejected(.rateLimited) == 640 - queued)
        #expect(receiver.counters.recordsRejected(.overload) == 0)
    }

    @Test("a datagram longer than 1024 bytes is one malformed record, whatever it holds")
    func oversized() throws {
        let receiver = try startedReceiver("[::1]:0", ringCapacity: 64)
        let records = (0..<17).flatMap { HeartbeatRecord(kind: .beat, application: application, instance: 1, sequence: UInt64($0 + 1), sentAtMicros: 0).encoded() }
        let client = IPv6Sender(port: receiver.boundPort)
        client.send(records)
        client.send(Array(records[0..<1024]))
        let deadline = Date().addingTimeInterval(5)
        while receiver.counters.recordsReceived < 17, Date() < deadline { usleep(5_000) }
        receiver.stop()
        #expect(receiver.counters.recordsRejected(.malformed) == 1)
        #expect(receiver.counters.recordsQueued == 16)
        #expect(receiver.counters.recordsReceived == 17)
    }
}

/// Sends datagrams to [::1]:port.
final class IPv6Sender {
    private let socket = Glibc.socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
    private var address = sockaddr_in6()

    init(port: UInt16) {
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        address.sin6_port = port.bigEndian
    }

    deinit { close(socket) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
