// What sending costs an application: one HeartbeatClient call (encode, sign, one send system
// call), and the batching sender's records per second on one core. Records go to a loopback UDP
// socket that never reads (the kernel drops what overflows its buffer, as it would for a slow
// collector; the sender cannot tell).
import Benchmark
import ClientKit
import Glibc
import Protocol

/// A bound loopback UDP socket, kept open for the whole run; its port.
private let sinkPort: UInt16 = {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            precondition(bind(socket, $0, length) == 0, "bind failed")
            _ = getsockname(socket, $0, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, .syscalls],
        timeUnits: .nanoseconds,
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 100
    )
    let endpoint = HeartbeatEndpoint(host: "127.0.0.1", port: sinkPort)

    for (label, secret) in [("unsigned", nil), ("signed", ApplicationSecret.random())] as [(String, ApplicationSecret?)] {
        Benchmark("HeartbeatClient.beat() \(label)") { benchmark in
            let client = HeartbeatClient(endpoint: endpoint, application: .random(), secret: secret)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { client.beat() }
            benchmark.stopMeasurement()
            precondition(client.statistics.recordsSent == UInt64(benchmark.scaledIterations.count), "\(client.statistics)")
        }
    }

    for (label, secret) in [("unsigned", nil), ("signed", ApplicationSecret.random())] as [(String, ApplicationSecret?)] {
        Benchmark(
            "BatchingSender.enqueue \(label), 16 records/datagram",
            configuration: .init(scalingFactor: .mega, maxIterations: 20)
        ) { benchmark in
            let sender = BatchingSender(endpoint: endpoint, maxDelay: .seconds(1), maxDatagramsPerSend: 64, blocking: true)
            let identities = (0..<1_000).map { _ in SenderIdentity(application: .random()) }
            let key = secret.map(TagKey.init(secret:))
            var next = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                sender.enqueue(identities[next].makeRecord(kind: .beat, sentAtMicros: 1), signedWith: key)
                next = next == 999 ? 0 : next + 1
            }
            sender.flush()
            benchmark.stopMeasurement()
            sender.close()
            precondition(sender.statistics.recordsSent == UInt64(benchmark.scaledIterations.count), "\(sender.statistics)")
        }
    }
}
