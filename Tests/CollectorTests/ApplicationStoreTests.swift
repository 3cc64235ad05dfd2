import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// The registry's SQL with hostile values, against a real PostgreSQL configured as some servers
/// are (`standard_conforming_strings = off`, where a backslash escapes a quote inside '…').
@Suite("Registry SQL with hostile values")
struct ApplicationStoreTests {
    func nonConformingDatabase() throws -> (TestDatabase, PostgresConnection) {
        let database = try TestDatabase()
        try database.connect().query("ALTER DATABASE \(database.name) SET standard_conforming_strings = off")
        let connection = try database.connect()
        #expect(try connection.query("SHOW standard_conforming_strings") == [["off"]])
        try Migrator().migrate(connection)
        return (database, connection)
    }

    @Test("a crafted name renames nothing else: values travel as parameters, whatever the quoting settings")
    func craftedNameWithNonConformingStrings() throws {
        let (database, connection) = try nonConformingDatabase()
        _ = database
        let (victim, _) = try ApplicationStore.create(name: "victim", intervalMillis: 1_000, graceMillis: 0, maxRunMillis: nil, signed: false, on: connection)
        let (attacker, _) = try ApplicationStore.create(name: "attacker", intervalMillis: 1_000, graceMillis: 0, maxRunMillis: nil, signed: false, on: connection)
        let crafted = #"\' WHERE false; COMMIT; UPDATE application SET name = 'pwned' --"#
        let attackerUUID = try #require(ApplicationUUID(attacker.uuid))
        let (updated, _) = try ApplicationStore.update(attackerUUID, ApplicationStore.Changes(name: crafted), on: connection)
        #expect(updated.name == crafted)
        let victimUUID = try #require(ApplicationUUID(victim.uuid))
        #expect(try ApplicationStore.get(victimUUID, on: connection)?.name == "victim")
        #expect(try connection.query("SELECT count(*) FROM application WHERE name = 'pwned'") == [["0"]])
        // Created with the crafted name too, and found by it as a prefix, literally.
        let (again, _) = try ApplicationStore.create(name: crafted + " 2", intervalMillis: 1_000, graceMillis: 0, maxRunMillis: nil, signed: false, on: connection)
        #expect(again.name == crafted + " 2")
        let found = try ApplicationStore.list(status: nil, namePrefix: #"\' WHERE"#, afterID: 0, limit: 10, on: connection)
        #expect(found.map(\.name) == [crafted, crafted + " 2"])
    }

    @Test("a name prefix is matched literally: % _ and \\ are not patterns")
    func prefixIsLiteral() throws {
        let (database, connection) = try nonConformingDatabase()
        _ = database
        for name in ["100% sure", "100 percent", "a_b", "axb", #"back\slash"#, "backslash"] {
            _ = try ApplicationStore.create(name: name, intervalMillis: 1_000, graceMillis: 0, maxRunMillis: nil, signed: false, on: connection)
        }
        func names(_ prefix: String) throws -> [String] {
            try ApplicationStore.list(status: nil, namePrefix: prefix, afterID: 0, limit: 10, on: connection).map(\.name)
        }
        #expect(try names("100%") == ["100% sure"])
        #expect(try names("a_") == ["a_b"])
        #expect(try names(#"back\"#) == [#"back\slash"#])
        #expect(try ApplicationStore.list(status: .new, namePrefix: nil, afterID: 0, limit: 10, on: connection).count == 6)
        #expect(try ApplicationStore.list(status: .up, namePrefix: nil, afterID: 0, limit: 10, on: connection).isEmpty)
    }

    @Test("the stored name is checked in code points, as the schema counts")
    func codePoints() throws {
        let (database, connection) = try nonConformingDatabase()
        _ = database
        let decomposed = String(repeating: "e\u{301}", count: 101)
        #expect(throws: StoreError.self) {
            try ApplicationStore.create(name: decomposed, intervalMillis: 1_000, graceMillis: 0, maxRunMillis: nil, signed: false, on: connection)
        }
        let longest = String(repeating: "e\u{301}", count: 100)
        let (created, _) = try ApplicationStore.create(name: longest, intervalMillis: 1_000, graceMillis: 0, maxRunMillis: nil, signed: false, on: connection)
        #expect(created.name == longest)
    }
}
