import ArgumentParser
import ClientKit
import Foundation
import Protocol

#if canImport(Glibc)
import Glibc
#endif

/// `heartbeat load`: a bounded load generator for collectors.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Send heartbeats for many applications at a set rate (or flat out) for a set time.",
        discussion: """
            Applications are derived from --seed (see --print-apps). Records go out \
            --records-per-datagram at a time, many datagrams per sendmmsg, each application in \
            turn with its own instance and sequence. Prints what it sent each second, then a \
            total line: `total: records=N datagrams=D seconds=S rate=R/s dropped=X`.
            """
    )

    @Option(help: ArgumentHelp("Collector address. Env: HEARTBEAT_ENDPOINT. Default: 127.0.0.1:7411.", valueName: "host:port"))
    var endpoint: String?

    @Option(help: "How many applications to speak for (1 to 10,000,000).")
    var apps: Int = 1_000

    @Option(help: "Seed the applications' UUIDs and secrets are derived from.", transform: { try IntegerArgument.parse($0, option: "--seed") })
    var seed: UInt64 = 1

    @Flag(help: "Sign every record with its application's derived secret.")
    var signed = false

    @Option(help: "Records per datagram, 1 to 16.")
    var recordsPerDatagram: Int = 16

    @Option(help: "Target records per second; 0 sends as fast as possible.")
    var rate: Int = 0

    @Option(help: "How long to send, in seconds (at most 3600).")
    var duration: Double = 10

    @Option(
        name: .customLong("interval-ms"), help: "The interval each record promises, in milliseconds (at most 4294967295).",
        transform: { try IntegerArgument.parse($0, option: "--interval-ms") })
    var intervalMillis: UInt32 = 10_000

    @Flag(help: "Print the applications (`uuid` or `uuid secret` per line) and exit, without sending.")
    var printApps = false

    @Flag(help: "Print only the total line.")
    var quiet = false

    func run() throws {
        let target = try exitingOnUsageError { () throws -> HeartbeatEndpoint in
            guard (1...10_000_000).contains(apps) else { throw UsageError("--apps must be 1 to 10,000,000; got \(apps)") }
            guard (1...16).contains(recordsPerDatagram) else {
                throw UsageError("--records-per-datagram must be 1 to 16; got \(recordsPerDatagram)")
            }
            guard rate >= 0 else { throw UsageError("--rate must be 0 (flat out) or more; got \(rate)") }
            guard duration > 0, duration <= 3_600 else { throw UsageError("--duration must be over 0 and at most 3600 s; got \(duration)") }
            let text = endpoint ?? Environment.value("HEARTBEAT_ENDPOINT") ?? HeartbeatEndpoint.localDefault.description
            do throws(HeartbeatEndpoint.ParseError) {
                return try HeartbeatEndpoint(parsing: text)
            } catch {
                throw UsageError("--endpoint / HEARTBEAT_ENDPOINT: \(error)")
            }
        }
        let plan = LoadPlan(count: apps, seed: seed, signed: signed)
        if printApps {
            var output = ""
            for application in plan.applications {
                output += application.uuid.description
                if let secret = application.secret { output += " " + secret.hexString }
                output += "\n"
            }
            FileHandle.standardOutput.write(Data(output.utf8))
            return
        }
        let report = LoadGenerator(
            endpoint: target, plan: plan, recordsPerDatagram: recordsPerDatagram, rate: rate,
            durationNanos: UInt64(duration * 1e9), intervalMillis: intervalMillis, quiet: quiet
        ).run()
        print(report)
    }
}

/// The sending loop of `heartbeat load`.
struct LoadGenerator {
    let endpoint: HeartbeatEndpoint
    let plan: LoadPlan
    let recordsPerDatagram: Int
    let rate: Int
    let durationNanos: UInt64
    let intervalMillis: UInt32
    let quiet: Bool

    /// Sends until the duration is over and returns the total line.
    func run() -> String {
        let sender = BatchingSender(
            endpoint: endpoint, recordsPerDatagram: recordsPerDatagram, maxDelay: .milliseconds(50),
            maxDatagramsPerSend: 64, blocking: true)
        _ = sender.waitUntilResolved(timeoutMillis: 5_000)
        let keys = plan.applications.map { $0.secret.map(TagKey.init(secret:)) }
        var instances = [UInt32](repeating: 0, count: plan.applications.count)
        var generator = SystemRandomNumberGenerator()
        for index in instances.indices { instances[index] = UInt32.random(in: 1 ... .max, using: &generator) }
        var sequences = [UInt64](repeating: 0, count: plan.applications.count)

        let start = WallClock.monotonicNanos()
        let end = start + durationNanos
        var given: UInt64 = 0
        var nextApplication = 0
        var nextReport = start + 1_000_000_000
        var sentAtLastReport: UInt64 = 0
        var second = 0
        var now = start
        let checkEvery: UInt64 = 256
        while now < end {
            let sentAt = WallClock.nowMicros()
            for _ in 0..<checkEvery {
                let index = nextApplication
                nextApplication = nextApplication + 1 == plan.applications.count ? 0 : nextApplication + 1
                sequences[index] &+= 1
                let record = HeartbeatRecord(
                    kind: .beat, application: plan.applications[index].uuid, instance: instances[index],
                    sequence: sequences[index], sentAtMicros: sentAt, intervalMillis: intervalMillis)
                sender.enqueue(record, signedWith: keys[index])
            }
            given += checkEvery
            now = WallClock.monotonicNanos()
            if rate > 0 {
                // Pace: the records given so far are due at start + given / rate.
                let due = start + given * 1_000_000_000 / UInt64(rate)
                if due > now {
                    var pause = timespec(tv_sec: Int((due - now) / 1_000_000_000), tv_nsec: Int((due - now) % 1_000_000_000))
                    nanosleep(&pause, nil)
                    now = WallClock.monotonicNanos()
                }
            }
            if now >= nextReport {
                second += 1
                let sent = sender.statistics.recordsSent
                if !quiet { print("second \(second): sent \(sent - sentAtLastReport) records") }
                sentAtLastReport = sent
                nextReport += 1_000_000_000
            }
        }
        sender.close()
        let elapsed = Double(WallClock.monotonicNanos() - start) / 1e9
        let statistics = sender.statistics
        return String(
            format: "total: records=%llu datagrams=%llu seconds=%.2f rate=%.0f/s dropped=%llu",
            statistics.recordsSent, statistics.datagramsSent,
            elapsed, Double(statistics.recordsSent) / elapsed,
            statistics.recordsGiven - statistics.recordsSent)
    }
}
