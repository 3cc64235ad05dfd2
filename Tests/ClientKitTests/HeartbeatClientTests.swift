import ClientKit
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

@Suite("HeartbeatClient")
struct HeartbeatClientTests {
    @Test("records arrive with the right fields, signed, with growing sequence numbers")
    func signedRecords() throws {
        let receiver = UDPReceiver()
        let application = ApplicationUUID.random()
        let secret = ApplicationSecret.random()
        let client = HeartbeatClient(
            endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), application: application,
            secret: secret, intervalMillis: 30_000)
        let before = WallClock.nowMicros()
        client.start()
        client.beat(status: 5)
        client.success()
        client.fail(status: 3)
        client.stop()
        let after = WallClock.nowMicros()

        var datagrams = [[UInt8]]()
        while datagrams.count < 5, let datagram = receiver.receive() { datagrams.append(datagram) }
        #expect(datagrams.allSatisfy { $0.count == 64 }, "one record per datagram")
        let records = try datagrams.flatMap(UDPReceiver.decode)
        #expect(records.map(\.kind) == [.start, .beat, .success, .fail, .stop])
        #expect(records.map(\.status) == [0, 5, 0, 3, 0])
        #expect(records.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(Set(records.map(\.instance)) == [client.identity.instance])
        for record in records {
            #expect(record.application == application)
            #expect(record.intervalMillis == 30_000)
            #expect((before...after).contains(record.sentAtMicros))
        }
        let key = TagKey(secret: secret)
        for datagram in datagrams {
            #expect(datagram.withUnsafeBytes { key.verifyTag(of: $0.baseAddress!) })
        }
        #expect(client.statistics.recordsSent == 5)
    }

    @Test("an unsigned client sends a zero tag")
    func unsigned() throws {
        let receiver = UDPReceiver()
        let client = HeartbeatClient(endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), application: .random())
        client.beat()
        let records = try receiver.receiveRecords()
        #expect(records.count == 1 && records[0].tag.isZero)
    }

    @Test("a cancelled run(every:) sends stop, after beats that promise interval + jitter")
    func runUntilCancelled() async throws {
        let receiver = UDPReceiver()
        let client = HeartbeatClient(endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), application: .random())
        // The client and the polling run off the cooperative pool, which parallel blocking tests
        // can hold for seconds on a 2-core machine.
        let executor = QueueTaskExecutor(label: "run-every")
        let task = Task(executorPreference: executor) { await client.run(every: .milliseconds(50), jitter: .milliseconds(10)) }
        // The receiver is used by the polling task, then (after it returned) by this one: never at once.
        nonisolated(unsafe) let polled = receiver
        var records = try await Task(executorPreference: QueueTaskExecutor(label: "poll")) { () async throws -> [HeartbeatRecord] in
            var records = [HeartbeatRecord]()
            let deadline = ContinuousClock.now + .seconds(30)
            while records.count < 3, ContinuousClock.now < deadline {
                if let datagram = polled.receive(timeoutMillis: 0) {
                    records += try UDPReceiver.decode(datagram)
                } else {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            return records
        }.value
        task.cancel()
        await task.value
        records += try receiver.receiveRecords()
        #expect(records.count >= 3)
        #expect(records.last?.kind == .stop)
        #expect(records.dropLast().allSatisfy { $0.kind == .beat && $0.intervalMillis == 60 })
        #expect(records.map(\.sequence) == Array(1...UInt64(records.count)))
    }

    @Test("an unresolvable name never throws and every record is counted")
    func unresolvable() throws {
        let client = HeartbeatClient(
            endpoint: HeartbeatEndpoint(host: "no-such-host.invalid", port: 7411), application: .random())
        #expect(client.waitUntilResolved(timeoutMillis: 3_000) == false)
        for _ in 0..<10 { client.beat() }
        let statistics = client.statistics
        #expect(statistics.recordsSent == 0)
        #expect(statistics.recordsUnresolved == 10)
        #expect(statistics.resolutionFailures >= 1)
        #expect(statistics.recordsGiven == 10)
    }

    @Test("a closed port never throws: sends that the kernel refuses are counted")
    func refused() throws {
        let port: UInt16
        do {
            let receiver = UDPReceiver()  // find a free port, then close it
            port = receiver.port
        }
        precondition(port != 0)
        let client = HeartbeatClient(endpoint: HeartbeatEndpoint(host: "127.0.0.1", port: port), application: .random())
        for _ in 0..<20 {
            client.beat()
            usleep(2_000)
        }
        let statistics = client.statistics
        #expect(statistics.recordsGiven == 20)
        #expect(statistics.recordsFailed > 0, "ICMP port unreachable turns into ECONNREFUSED on a connected socket")
        #expect(statistics.lastErrorNumber == ECONNREFUSED)
    }

    @Test("IPv6 endpoints work")
    func ipv6() throws {
        let receiver = try #require(UDPReceiver(ipv6: true))
        let client = HeartbeatClient(endpoint: try HeartbeatEndpoint(parsing: receiver.endpointText), application: .random())
        client.beat()
        #expect(try receiver.receiveRecords().count == 1)
    }

    @Test("a host name resolves in the background")
    func resolvesNames() throws {
        // `localhost` may resolve to 127.0.0.1 or ::1 first: listen on both with the same port.
        var receivers: (UDPReceiver, UDPReceiver)?
        for _ in 0..<20 where receivers == nil {
            let ipv4 = UDPReceiver()
            if let ipv6 = UDPReceiver(ipv6: true, port: ipv4.port) { receivers = (ipv4, ipv6) }
        }
        let (ipv4, ipv6) = try #require(receivers)
        let client = HeartbeatClient(endpoint: HeartbeatEndpoint(host: "localhost", port: ipv4.port), application: .random())
        #expect(client.waitUntilResolved(timeoutMillis: 5_000))
        client.beat()
        let arrived = try ipv4.receiveRecords(firstTimeoutMillis: 1_000).count + ipv6.receiveRecords(firstTimeoutMillis: 200).count
        #expect(arrived == 1)
        #expect(client.statistics.recordsSent == 1)
    }
}

@Suite("HeartbeatEndpoint")
struct HeartbeatEndpointTests {
    @Test("text forms")
    func parsing() throws {
        let cases: [(String, String, UInt16)] = [
            ("127.0.0.1:7411", "127.0.0.1", 7411), ("collector.internal", "collector.internal", 7411),
            ("[::1]:9000", "::1", 9000), ("[fe80::1]", "fe80::1", 7411), ("h:1", "h", 1),
        ]
        for (text, host, port) in cases {
            let endpoint = try HeartbeatEndpoint(parsing: text)
            #expect(endpoint.host == host && endpoint.port == port, "\(text)")
        }
        #expect(try HeartbeatEndpoint(parsing: "[::1]:9000").description == "[::1]:9000")
        for bad in ["", ":7411", "::1", "[::1", "[::1]x", "h:0", "h:65536", "h:port", "a b:1"] {
            #expect(throws: HeartbeatEndpoint.ParseError.self, "\(bad)") { try HeartbeatEndpoint(parsing: bad) }
        }
    }
}
