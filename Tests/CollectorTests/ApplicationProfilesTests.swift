import Collector
import HeartbeatTestSupport
import Protocol
import Testing

/// The registry snapshot carries what status readers need: name, expectation, signed, enabled.
@Suite("Application profiles in the registry snapshot")
struct ApplicationProfilesTests {
    @Test("profiles are found by id, names of any length and script kept exactly; unknown ids are nil")
    func lookups() {
        let first = ApplicationProfile(applicationID: 3, uuid: .random(), name: "billing", intervalMillis: 60_000, graceMillis: 30_000)
        let second = ApplicationProfile(
            applicationID: 9, uuid: .random(), name: "nächtlicher Export — 夜間", intervalMillis: 86_400_000, graceMillis: 600_000,
            maxRunMillis: 3_600_000, isSigned: true, isEnabled: false)
        let empty = ApplicationProfile(applicationID: 4, uuid: .random(), name: "", intervalMillis: 1, graceMillis: 0)
        let profiles = ApplicationProfiles([first, second, empty])
        #expect(profiles.count == 3)
        #expect(profiles[3] == first)
        #expect(profiles[9] == second)
        #expect(profiles[4] == empty)
        for unknown: Int64 in [-1, 0, 1, 5, 10, 1 << 40] { #expect(profiles[unknown] == nil, "id \(unknown)") }
    }

    @Test("the loader reads each application's profile with the validation table, in one consistent view")
    func loaded() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let plain = ApplicationUUID.random()
        let signed = ApplicationUUID.random()
        try connection.query("""
            INSERT INTO application (uuid, name, interval_ms, grace_ms, max_run_ms, secret, is_active) VALUES
              ('\(plain)', 'cron: backup', 86400000, 600000, 3600000, NULL, true),
              ('\(signed)', 'api', 2000, 1000, NULL, '\\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', false)
            """)
        let snapshot = try RegistryLoader.load(connection, allowedSkewMicros: 120_000_000).snapshot
        let rows = try connection.query("SELECT id, (extract(epoch FROM created_at) * 1000000)::bigint FROM application ORDER BY id")
        let ids = rows.compactMap { $0[0].flatMap { Int64($0) } }
        let created = rows.compactMap { $0[1].flatMap { Int64($0) } }
        #expect(ids.count == 2 && created.count == 2 && created.allSatisfy { $0 > 0 })
        #expect(snapshot.profiles[ids[0]] == ApplicationProfile(
            applicationID: ids[0], uuid: plain, name: "cron: backup", intervalMillis: 86_400_000, graceMillis: 600_000, maxRunMillis: 3_600_000,
            isSigned: false, isEnabled: true, createdAtMicros: created[0]))
        #expect(snapshot.profiles[ids[1]] == ApplicationProfile(
            applicationID: ids[1], uuid: signed, name: "api", intervalMillis: 2_000, graceMillis: 1_000, isSigned: true, isEnabled: false,
            createdAtMicros: created[1]))
    }
}
