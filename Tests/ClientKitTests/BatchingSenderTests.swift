import ClientKit
import HeartbeatTestSupport
import Protocol
import Testing

@Suite("BatchingSender")
struct BatchingSenderTests {
    @Test("packs 16 records per datagram, signs per application, and flushes the rest on close")
    func packsAndSigns() throws {
        let receiver = UDPReceiver()
        let sender = BatchingSender(endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), maxDelay: .seconds(10))
        let secret = ApplicationSecret.random()
        let signedApp = SenderIdentity(application: .random())
        let unsignedApp = SenderIdentity(application: .random())
        for index in 0..<40 {
            let identity = index.isMultiple(of: 2) ? signedApp : unsignedApp
            sender.enqueue(
                identity.makeRecord(kind: .beat, sentAtMicros: Int64(index)),
                signedWith: index.isMultiple(of: 2) ? TagKey(secret: secret) : nil)
        }
        sender.close()
        var datagrams = [[UInt8]]()
        while let datagram = receiver.receive(timeoutMillis: 1_000) { datagrams.append(datagram) }
        #expect(datagrams.map(\.count) == [1024, 1024, 512])
        let records = try datagrams.flatMap(UDPReceiver.decode)
        #expect(records.map(\.sentAtMicros) == (0..<40).map(Int64.init))
        #expect(records.filter { $0.application == signedApp.application }.map(\.sequence) == Array(1...20))
        let key = TagKey(secret: secret)
        let flat = datagrams.flatMap { $0 }
        flat.withUnsafeBytes { bytes in
            for (index, record) in records.enumerated() {
                let signed = record.application == signedApp.application
                #expect(signed ? key.verifyTag(of: bytes.baseAddress! + index * 64) : record.tag.isZero)
            }
        }
        let statistics = sender.statistics
        #expect(statistics.recordsSent == 40 && statistics.datagramsSent == 3)
    }

    @Test("a partly filled batch goes out within its maximum delay")
    func flushesByAge() throws {
        let receiver = UDPReceiver()
        let sender = BatchingSender(endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), maxDelay: .milliseconds(40))
        let identity = SenderIdentity(application: .random())
        for _ in 0..<3 { sender.enqueue(identity.makeRecord(kind: .beat, sentAtMicros: 1)) }
        let datagram = receiver.receive(timeoutMillis: 2_000)
        #expect(datagram?.count == 192)
        sender.close()
    }

    @Test("records given after close are counted, not sent")
    func afterClose() throws {
        let receiver = UDPReceiver()
        let sender = BatchingSender(endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), recordsPerDatagram: 4)
        sender.close()
        sender.enqueue(SenderIdentity(application: .random()).makeRecord(kind: .beat, sentAtMicros: 1))
        #expect(sender.statistics.recordsUnresolved == 1 && sender.statistics.recordsSent == 0)
        #expect(receiver.receive(timeoutMillis: 200) == nil)
    }
}
