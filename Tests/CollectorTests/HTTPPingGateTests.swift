@testable import Collector
import Foundation
import Protocol
import Testing

/// ``HTTPIngestGate/ping(_:)`` as a table: the registry, the key, the budget and the queue decide
/// each ping; every ping is counted under transport `http_ping`, and an accepted one is on the ping
/// ring as a row with sequence 0 (no record has it).
@Suite("HTTP ping gate")
struct HTTPPingGateTests {
    let unsigned = ApplicationUUID.random()
    let disabled = ApplicationUUID.random()
    let signed = ApplicationUUID.random()
    let rotating = ApplicationUUID.random()
    let secret = ApplicationSecret.random()
    let newSecret = ApplicationSecret.random()

    func gate(ringCapacity: Int = 1_024, rateLimit: (Int, Int) = (0, 0)) -> HTTPIngestGate {
        let registry = RegistryHolder(RegistrySnapshot(
            version: 1,
            applications: [
                ApplicationDescriptor(uuid: unsigned, applicationID: 1), ApplicationDescriptor(uuid: disabled, applicationID: 2, isEnabled: false),
                ApplicationDescriptor(uuid: signed, applicationID: 3, secret: secret),
                ApplicationDescriptor(uuid: rotating, applicationID: 4, secret: newSecret, previousSecret: secret),
            ], allowedSkewMicros: 0))
        return HTTPIngestGate(registry: registry, ringCapacity: ringCapacity, rateLimit: rateLimit)
    }

    func ping(_ application: ApplicationUUID, _ action: Substring? = nil, key: String? = nil, instance: Substring? = nil) throws -> HTTPPing {
        try HTTPPing(application: Substring(application.description), action: action, instance: instance, key: key)
    }

    @Test("registry and key decide: unknown, disabled, unsigned with or without a key, signed with none, a wrong, the right or the previous key")
    func table() throws {
        let gate = gate()
        let key = PingKey.hex(for: secret)
        let cases: [(HTTPPing, HTTPPing.Outcome)] = [
            (try ping(.random()), .unknownApplication),
            (try ping(disabled), .disabled),
            (try ping(unsigned), .accepted),
            (try ping(unsigned, key: "anything"), .accepted),
            (try ping(signed), .keyMissing),
            (try ping(signed, key: PingKey.hex(for: newSecret)), .keyWrong),
            (try ping(signed, key: "not hex at all"), .keyWrong),
            (try ping(signed, key: secret.hexString), .keyWrong),
            (try ping(signed, key: key), .accepted),
            (try ping(signed, key: key.uppercased()), .accepted),
            (try ping(rotating, key: PingKey.hex(for: newSecret)), .accepted),
            (try ping(rotating, key: key), .accepted),
        ]
        for (index, (ping, expected)) in cases.enumerated() {
            #expect(gate.ping(ping) == expected, "case \(index)")
        }
        gate.countMalformedPing()
        let counters = gate.pingCounters
        #expect(counters.recordsReceived == 13 && counters.recordsQueued == 6)
        #expect(counters.recordsRejected(.unknownApplication) == 1 && counters.recordsRejected(.disabled) == 1)
        #expect(counters.recordsRejected(.authentication) == 4 && counters.recordsRejected(.malformed) == 1)
        #expect(gate.counters.recordsReceived == 0, "pings are not counted as posted records")
        #expect(gate.pingRing.occupancy == 6 && gate.ring.occupancy == 0)
    }

    @Test("an accepted ping is a row of its kind, status and instance, sequence 0, sent when received")
    func row() throws {
        let gate = gate()
        #expect(gate.ping(try ping(unsigned, "42", instance: "web-2")) == .accepted)
        let rows = gate.pingRing.peek(maximum: 1)
        let row = try #require(rows.first)
        #expect(row.applicationID == 1 && row.kind == .fail && row.status == 42 && row.sequence == 0)
        #expect(row.instance == (try HTTPPing.instanceID("web-2")) && row.instance != 0)
        #expect(row.sentAtMicros == row.receivedAtMicros && abs(row.receivedAtMicros - WallClock.nowMicros()) < 10_000_000)
    }

    @Test("over budget is rate_limited with the seconds until the next ping fits; a full ring is overload")
    func budgetAndQueue() throws {
        let limited = gate(rateLimit: (1, 3))
        for _ in 0..<3 { #expect(limited.ping(try ping(unsigned)) == .accepted) }
        #expect(limited.ping(try ping(unsigned)) == .rateLimited(retryAfterSeconds: 1))
        #expect(limited.ping(try ping(signed, key: PingKey.hex(for: secret))) == .accepted, "each application has its own budget")
        #expect(limited.pingCounters.recordsRejected(.rateLimited) == 1)

        let slow = gate(rateLimit: (1, 1))
        #expect(slow.ping(try ping(unsigned)) == .accepted)
        guard case .rateLimited(let seconds) = slow.ping(try ping(unsigned)) else { Issue.record("not rate limited"); return }
        #expect(seconds == 1)

        let full = gate(ringCapacity: 16)
        let capacity = full.pingRing.capacity
        for _ in 0..<capacity { #expect(full.ping(try ping(unsigned)) == .accepted) }
        #expect(full.ping(try ping(unsigned)) == .overloaded)
        #expect(full.pingCounters.recordsRejected(.overload) == 1 && full.pingCounters.recordsReceived == UInt64(capacity + 1))
    }

    /// (action segment, kind, status); nil kind: malformed.
    static let actions: [(Substring?, RecordKind?, Int32)] = [
        (nil, .beat, 0), ("start", .start, 0), ("success", .success, 0), ("fail", .fail, 1), ("stop", .stop, 0), ("0", .success, 0),
        ("1", .fail, 1), ("255", .fail, 255), ("007", .fail, 7), ("256", nil, 0), ("1000", nil, 0), ("-1", nil, 0),
        ("START", nil, 0), ("", nil, 0), ("+1", nil, 0),
    ]

    @Test("actions: the kind and status each stands for; anything else is malformed", arguments: 0..<actions.count)
    func action(_ index: Int) throws {
        let (action, kind, status) = Self.actions[index]
        let parsed = try? ping(unsigned, action)
        #expect(parsed?.kind == kind && (kind == nil || parsed?.status == status), "\(action ?? "nil")")
    }

    @Test("/log is output on its own, not a record; rid is checked like an instance name; run events are the actions that start, end or log a run")
    func logAndRunKey() throws {
        let log = try HTTPPing(application: Substring(unsigned.description), action: "log", instance: nil, key: nil, runKey: "nightly-1")
        #expect(log.isLog && log.isRunEvent && log.runEventKind == .log && log.runKey == "nightly-1")
        #expect(throws: HTTPPing.Malformed.self) { try HTTPPing(application: Substring(unsigned.description), action: nil, instance: nil, key: nil, runKey: "a b") }
        let kinds = try [nil, "start", "success", "fail", "stop", "0", "9"].map { try ping(unsigned, $0.map { Substring($0) }).runEventKind }
        #expect(kinds == [nil, .start, .end(success: true, exitStatus: nil), .end(success: false, exitStatus: nil), nil,
                          .end(success: true, exitStatus: 0), .end(success: false, exitStatus: 9)])
        let gate = gate(rateLimit: (1, 1))
        guard case .admitted = gate.admit(log) else { Issue.record("log refused"); return }
        guard case .refused(.rateLimited) = gate.admit(log) else { Issue.record("the second log within the budget's second was not rate limited"); return }
        #expect(gate.logOutcomes == ["accepted": 1, "rate_limited": 1] && gate.pingCounters.recordsReceived == 0 && gate.pingRing.occupancy == 0,
                "a log is counted apart and never queued: \(gate.logOutcomes)")
    }

    @Test("instance names hash alike everywhere, differ from each other, are never 0, and are checked")
    func instances() throws {
        let names = (0..<1_000).map { "host-\($0)" }
        let ids = try names.map { try HTTPPing.instanceID($0[...]) }
        #expect(Set(ids).count == names.count && !ids.contains(0))
        #expect(try HTTPPing.instanceID("a") == 0xE40C_292C, "FNV-1a 32 of \"a\"")
        for bad in ["", "a b", "é", String(repeating: "x", count: 65), "a/b"] {
            #expect(throws: HTTPPing.Malformed.self) { try HTTPPing.instanceID(bad[...]) }
        }
        #expect(try HTTPPing.instanceID(String(repeating: "x", count: 64)[...]) != 0)
    }
}
