import ArgumentParser
import Collector
import Foundation

/// `heartbeat migrate`: brings the database schema up to date.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (Spec/schema/) to the database.",
        discussion: """
            Each migration runs in its own transaction under an advisory lock, so running this \
            while collectors start is safe. Refuses a database migrated by a newer build.
            """
    )

    @Option(help: ArgumentHelp(
        "libpq connection URL. Env: HEARTBEAT_DATABASE_URL.", valueName: "postgresql://user@host:port/db"))
    var databaseURL: String?

    func run() throws {
        let url = try exitingOnUsageError { () throws -> String in
            guard let url = databaseURL ?? Environment.value("HEARTBEAT_DATABASE_URL") else {
                throw UsageError("no database: pass --database-url or set HEARTBEAT_DATABASE_URL")
            }
            return url
        }
        do throws(PostgresError) {
            let connection = try PostgresConnection(url: url)
            let migrator = Migrator()
            let applied = try migrator.migrate(connection)
            print(
                applied.isEmpty
                    ? "schema is up to date (version \(migrator.migrations.count))"
                    : "applied migration(s) \(applied.map(String.init).joined(separator: ", ")); schema is at version \(migrator.migrations.count)")
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
