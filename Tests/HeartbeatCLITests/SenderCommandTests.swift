import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// The `heartbeat` command's sending subcommands, run as a process against a UDP socket.
@Suite("heartbeat send / run / load", .serialized)
struct SenderCommandTests {
    let application = ApplicationUUID.random()

    func environment(_ receiver: UDPReceiver, secret: ApplicationSecret? = nil) -> [String: String] {
        var environment = ["HEARTBEAT_ENDPOINT": receiver.endpointText, "HEARTBEAT_APP": application.description]
        environment["HEARTBEAT_SECRET"] = secret?.hexString ?? ""
        return environment
    }

    @Test("`heartbeat run -- true` exits 0 and sends start, then success")
    func runTrue() throws {
        let receiver = UDPReceiver()
        let result = try runProcess(heartbeatExecutable(), ["run", "--", "true"], environment: environment(receiver))
        #expect(result.status == 0, "\(result.standardError)")
        let records = try receiver.receiveRecords()
        #expect(records.map(\.kind) == [.start, .success])
        #expect(records.map(\.sequence) == [1, 2])
        #expect(records.allSatisfy { $0.application == application })
    }

    @Test("`heartbeat run -- false` exits 1 and sends fail with status 1")
    func runFalse() throws {
        let receiver = UDPReceiver()
        let result = try runProcess(heartbeatExecutable(), ["run", "--", "false"], environment: environment(receiver))
        #expect(result.status == 1)
        let records = try receiver.receiveRecords()
        #expect(records.map(\.kind) == [.start, .fail])
        #expect(records.last?.status == 1)
    }

    @Test("`heartbeat run` passes output through, reports exit codes and signals, signs with the secret")
    func runPassesThrough() throws {
        let receiver = UDPReceiver()
        let secret = ApplicationSecret.random()
        let result = try runProcess(
            heartbeatExecutable(), ["run", "--", "sh", "-c", "echo out; echo err >&2; exit 42"],
            environment: environment(receiver, secret: secret))
        #expect(result.status == 42)
        #expect(result.standardOutput == "out\n")
        #expect(result.standardError.contains("err\n"))
        let datagrams = [receiver.receive(), receiver.receive()].compactMap { $0 }
        let records = try datagrams.flatMap(UDPReceiver.decode)
        #expect(records.map(\.kind) == [.start, .fail] && records.last?.status == 42)
        let key = TagKey(secret: secret)
        #expect(datagrams.allSatisfy { datagram in datagram.withUnsafeBytes { key.verifyTag(of: $0.baseAddress!) } })

        let killed = try runProcess(heartbeatExecutable(), ["run", "--", "sh", "-c", "kill -TERM $$"], environment: environment(receiver))
        #expect(killed.status == 128 + SIGTERM)
        #expect(try receiver.receiveRecords().last?.status == 128 + SIGTERM)

        let missing = try runProcess(heartbeatExecutable(), ["run", "--", "/no/such/command"], environment: environment(receiver))
        #expect(missing.status == 127)
        #expect(try receiver.receiveRecords().map(\.kind) == [.start, .fail])
    }

    @Test("`heartbeat send` sends one record of the given kind and status")
    func send() throws {
        let receiver = UDPReceiver()
        let result = try runProcess(
            heartbeatExecutable(), ["send", "--kind", "fail", "--status=-3", "--interval-ms", "60000"],
            environment: environment(receiver))
        #expect(result.status == 0)
        let records = try receiver.receiveRecords()
        #expect(records.count == 1)
        #expect(records.first?.kind == .fail && records.first?.status == -3 && records.first?.intervalMillis == 60_000)
    }

    @Test("bad arguments exit 2 with a message that names the problem", arguments: [
        (["send", "--app", "not-a-uuid"], "not a UUID"),
        (["send", "--kind", "boom"], "--kind"),
        (["send", "--endpoint", "host:99999"], "port"),
        (["run"], "no command"),
        // The argument parser's own refusals exit 2 as well (its code is 64).
        (["send", "--no-such-flag"], "Unknown option"),
        (["serve", "--batch-rows", "many"], "--batch-rows"),
        (["inspect"], "Missing expected argument"),
        // An out-of-range number says what is accepted.
        (["send", "--status", "99999999999"], "at most 2147483647"),
        (["send", "--status", "-99999999999"], "at least -2147483648"),
        (["send", "--interval-ms=-1"], "at least 0"),
    ])
    func badArguments(arguments: [String], message: String) throws {
        let receiver = UDPReceiver()
        let result = try runProcess(heartbeatExecutable(), arguments, environment: environment(receiver))
        #expect(result.status == 2)
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    @Test("a negative status works without '=': --status -1")
    func negativeStatus() throws {
        let receiver = UDPReceiver()
        let result = try runProcess(heartbeatExecutable(), ["send", "--kind", "fail", "--status", "-1"], environment: environment(receiver))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try receiver.receiveRecords().first?.status == -1)
    }

    @Test("a bad secret exits 2")
    func badSecret() throws {
        let receiver = UDPReceiver()
        var environment = environment(receiver)
        environment["HEARTBEAT_SECRET"] = "abc"
        let result = try runProcess(heartbeatExecutable(), ["send"], environment: environment)
        #expect(result.status == 2 && result.standardError.contains("64 hex characters"))
    }

    @Test("`heartbeat load` sends what it says it sent, and --print-apps lists the derived apps")
    func load() throws {
        let receiver = UDPReceiver()
        let result = try runProcess(
            heartbeatExecutable(),
            ["load", "--apps", "5", "--rate", "1000", "--duration", "0.5", "--records-per-datagram", "4", "--signed", "--seed", "9", "--quiet"],
            environment: environment(receiver))
        #expect(result.status == 0, "\(result.standardError)")
        let records = try receiver.receiveRecords()
        let total = try #require(result.standardOutput.split(separator: "\n").last)
        #expect(total.hasPrefix("total: records=\(records.count) "), "\(total)")
        #expect(records.count >= 256 && records.count <= 1_024)
        let apps = try runProcess(heartbeatExecutable(), ["load", "--apps", "5", "--signed", "--seed", "9", "--print-apps"])
        let listed = apps.standardOutput.split(separator: "\n").compactMap { ApplicationUUID(String($0.prefix(36))) }
        #expect(Set(records.map(\.application)) == Set(listed))
    }
}
