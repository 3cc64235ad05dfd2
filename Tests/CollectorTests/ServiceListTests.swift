import Collector
import Foundation
import Testing

/// The collector's start and shutdown order is the order of its service list.
@Suite("Service list")
struct ServiceListTests {
    /// Records every start and stop in a shared journal; fails to start when told to.
    final class Recorder: CollectorService, @unchecked Sendable {
        struct Refused: Error {}
        let serviceName: String
        let journal: Journal
        let failsToStart: Bool

        init(_ name: String, _ journal: Journal, failsToStart: Bool = false) {
            serviceName = name
            self.journal = journal
            self.failsToStart = failsToStart
        }

        func start() throws {
            if failsToStart { throw Refused() }
            journal.note("start \(serviceName)")
        }

        func stop() { journal.note("stop \(serviceName)") }
    }

    final class Journal: @unchecked Sendable {
        private let lock = NSLock()
        private var lines = [String]()
        func note(_ line: String) { lock.withLock { lines.append(line) } }
        var entries: [String] { lock.withLock { lines } }
    }

    /// (services, the one that fails to start or nil, the journal expected after start and stop).
    static let cases: [(names: [String], failing: String?, expected: [String])] = [
        ([], nil, []),
        (["registry"], nil, ["start registry", "stop registry"]),
        (["registry", "writers", "drain", "receiver"], nil, [
            "start registry", "start writers", "start drain", "start receiver",
            "stop receiver", "stop drain", "stop writers", "stop registry",
        ]),
        // A failure stops what started, in reverse, and nothing after the failing one starts.
        (["registry", "writers", "sidecar", "late"], "sidecar", ["start registry", "start writers", "stop writers", "stop registry"]),
        (["sidecar", "late"], "sidecar", []),
    ]

    @Test("services start in list order and stop in reverse; a failed start stops those started", arguments: cases)
    func order(_ names: [String], _ failing: String?, _ expected: [String]) {
        let journal = Journal()
        let list = ServiceList(names.map { Recorder($0, journal, failsToStart: $0 == failing) })
        do {
            try list.start()
            #expect(failing == nil)
            list.stop()
        } catch {
            #expect(error.serviceName == failing)
        }
        #expect(journal.entries == expected)
        list.stop()  // stopping again stops nothing twice
        #expect(journal.entries == expected)
    }

    @Test("services appended later start after, and stop before, those already listed")
    func appended() throws {
        let journal = Journal()
        let list = ServiceList([Recorder("collector", journal)])
        list.append([Recorder("sidecar", journal)])
        try list.start()
        list.stop()
        #expect(journal.entries == ["start collector", "start sidecar", "stop sidecar", "stop collector"])
    }
}
