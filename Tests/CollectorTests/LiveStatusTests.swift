@testable import Collector
import Protocol
import Testing

/// What status readers are answered from memory: one registry snapshot and one liveness view.
@Suite("Live status from the registry and the liveness view")
struct LiveStatusTests {
    /// Applications 1…6 (5 disabled; 6 registered after the view was taken), and a view of 1…5.
    static func fixture() -> (LiveStatus, [ApplicationUUID]) {
        let uuids = (0...6).map { _ in ApplicationUUID.random() }
        let names = [1: "web-b", 2: "web-a", 3: "batch", 4: "web-c", 5: "off", 6: "fresh"]
        let profiles = ApplicationProfiles((1...6).map { id in
            ApplicationProfile(
                applicationID: Int64(id), uuid: uuids[id], name: names[id]!, intervalMillis: 1_000 * Int64(id), graceMillis: 500,
                isEnabled: id != 5, createdAtMicros: 7)
        })
        let registry = RegistrySnapshot(
            version: 4, applications: (1...6).map { ApplicationDescriptor(uuid: uuids[$0], applicationID: Int64($0)) }, allowedSkewMicros: 0,
            profiles: profiles)
        let statuses: [LivenessStatus] = [.new, .up, .down, .late, .up, .paused]
        let columns = LivenessView.Columns(
            statuses: statuses, since: [.min, 100, 200, 300, 400, 500], lastArrival: [0, 1_000, 0, 3_000, 4_000, 0],
            nextDeadline: [.max, 2_000, .max, 9_000, 5_000, .max], runDuration: [0, 0, 0, 0, 250_000, 0], runEnded: [.min, .min, .min, .min, 4_000, .min])
        let view = LivenessView(source: .monitor, role: .alone, takenAtMicros: 5_000, sequence: 3, registryVersion: 4, columns: columns)
        return (LiveStatus(registry: registry, view: view), uuids)
    }

    @Test("one application: profile and liveness together; never-seen and unviewed applications have nil times; unknown is nil")
    func single() throws {
        let (live, uuids) = Self.fixture()
        let web = try #require(live.application(uuids[1]))
        #expect(web.profile.name == "web-b" && web.status == .up && web.sinceMicros == 100 && web.lastHeartbeatMicros == 1_000)
        #expect(web.nextDeadlineMicros == 2_000 && web.lastRun == nil)
        let down = try #require(live.application(uuids[2]))
        #expect(down.status == .down && down.lastHeartbeatMicros == nil && down.nextDeadlineMicros == nil, "0 in the last-seen table is never")
        #expect(live.application(uuids[4])?.lastRun == LivenessMachine.ClosedRun(durationMicros: 250_000, endedMicros: 4_000))
        let fresh = try #require(live.application(uuids[6]))
        #expect(fresh.status == .new && fresh.sinceMicros == nil && fresh.lastHeartbeatMicros == nil, "registered after the view: new")
        #expect(live.application(ApplicationUUID.random()) == nil)
        #expect(live.application(uuids[0]) == nil, "in no registry")
    }

    @Test("pages in id order with state and prefix filters, and a cursor that ends on the last page", arguments: [
        (nil, nil, 0, 10, [1, 2, 3, 4, 5, 6], nil),
        (nil, nil, 0, 2, [1, 2], 2),
        (nil, nil, 2, 2, [3, 4], 4),
        (nil, nil, 4, 2, [5, 6], nil),
        (LivenessStatus.up, nil, 0, 10, [1, 4], nil),
        (LivenessStatus.up, nil, 0, 1, [1], 1),
        (LivenessStatus.new, nil, 0, 10, [6], nil),
        (nil, "web-", 0, 10, [1, 2, 4], nil),
        (nil, "web-", 1, 1, [2], 2),
        (LivenessStatus.late, nil, 0, 10, [3], nil),
        (LivenessStatus.late, "web", 0, 10, [], nil),
    ] as [(LivenessStatus?, String?, Int, Int, [Int], Int?)])
    func pages(state: LivenessStatus?, prefix: String?, after: Int, limit: Int, ids: [Int], next: Int?) {
        let (live, _) = Self.fixture()
        let page = live.page(status: state, namePrefix: prefix, afterID: after, limit: limit)
        #expect(page.applications.map { Int($0.profile.applicationID) } == ids)
        #expect(page.nextAfterID == next)
    }

    @Test("counts cover enabled applications only, every state present; worst first orders by state, then by name")
    func countsAndWorst() {
        let (live, _) = Self.fixture()
        #expect(live.counts() == [.new: 1, .up: 2, .late: 1, .down: 1, .paused: 0, .short: 0], "5 (paused) is disabled")
        #expect(live.worst(limit: 10).map(\.profile.name) == ["web-a", "batch", "fresh", "web-b", "web-c"])
        #expect(live.worst(limit: 2).map(\.profile.name) == ["web-a", "batch"])
        #expect(live.worst(limit: 10, status: .up).map(\.profile.name) == ["web-b", "web-c"])
    }

    @Test("worst first keeps the names that sort first when a state holds more than fit")
    func boundedSelection() {
        let uuids = (0..<200).map { _ in ApplicationUUID.random() }
        let names = (0..<200).map { "app-\(String(format: "%03d", ($0 * 37) % 200))" }
        let profiles = ApplicationProfiles((0..<200).map {
            ApplicationProfile(applicationID: Int64($0 + 1), uuid: uuids[$0], name: names[$0], intervalMillis: 1_000, graceMillis: 0)
        })
        let registry = RegistrySnapshot(
            version: 1, applications: (0..<200).map { ApplicationDescriptor(uuid: uuids[$0], applicationID: Int64($0 + 1)) }, allowedSkewMicros: 0,
            profiles: profiles)
        let live = LiveStatus(registry: registry, view: LivenessView(source: .monitor, role: .alone, takenAtMicros: 1, sequence: 1))
        #expect(live.worst(limit: 5).map(\.profile.name) == ["app-000", "app-001", "app-002", "app-003", "app-004"])
        #expect(live.worst(limit: 200).map(\.profile.name) == names.sorted())
    }

    @Test("a view with overrides answers the newer entries and keeps the rest; a full view has none")
    func overrides() {
        let (live, _) = Self.fixture()
        let changed = LivenessView.Entry(status: .down, sinceMicros: 6_000, lastArrivalMicros: 1_000, nextDeadlineMicros: nil, lastRun: nil)
        let newer = LivenessView(live.view, overriding: [1: changed], role: .leader, takenAtMicros: 6_000, sequence: 4)
        #expect(newer[1] == changed && newer[2] == live.view[2] && newer.overrideCount == 1 && newer.role == .leader)
        #expect(newer.registryVersion == 4 && newer.count == live.view.count)
        let further = LivenessView(newer, overriding: [7: changed], role: .leader, takenAtMicros: 7_000, sequence: 5)
        #expect(further[1] == changed && further[7] == changed && further.count == 8 && further.overrideCount == 2)
        #expect(live.view.overrideCount == 0)
    }
}
