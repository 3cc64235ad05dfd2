import ArgumentParser
import ClientKit
import Foundation
import Protocol

/// Options every sending command shares; each falls back to an environment variable, and the
/// command line wins.
struct SenderOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Collector address, HOST:PORT or [IPv6]:PORT. Env: HEARTBEAT_ENDPOINT. Default: 127.0.0.1:7411.",
        valueName: "host:port"))
    var endpoint: String?

    @Option(help: ArgumentHelp("The application's UUID. Env: HEARTBEAT_APP.", valueName: "uuid"))
    var app: String?

    @Option(help: ArgumentHelp(
        "File holding the application's secret (64 hex characters); records are signed with it. Env: HEARTBEAT_SECRET (the secret itself).",
        valueName: "file"))
    var secretFile: String?

    /// The endpoint from the flag, the environment, or the default.
    func resolvedEndpoint() throws -> HeartbeatEndpoint {
        guard let text = endpoint ?? Environment.value("HEARTBEAT_ENDPOINT") else { return .localDefault }
        do throws(HeartbeatEndpoint.ParseError) {
            return try HeartbeatEndpoint(parsing: text)
        } catch {
            throw UsageError("--endpoint / HEARTBEAT_ENDPOINT: \(error)")
        }
    }

    /// The application from the flag or the environment; required.
    func resolvedApplication() throws -> ApplicationUUID {
        guard let text = app ?? Environment.value("HEARTBEAT_APP") else {
            throw UsageError("no application: pass --app UUID or set HEARTBEAT_APP")
        }
        guard let uuid = ApplicationUUID(text) else {
            throw UsageError("--app / HEARTBEAT_APP: '\(text)' is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        }
        return uuid
    }

    /// The secret from the file or the environment, or `nil` for an unsigned application.
    func resolvedSecret() throws -> ApplicationSecret? {
        let text: String
        let source: String
        if let secretFile {
            (text, source) = (try SecretFile.read(secretFile, setting: "--secret-file"), "--secret-file \(secretFile)")
        } else if let value = Environment.value("HEARTBEAT_SECRET") {
            (text, source) = (value, "HEARTBEAT_SECRET")
        } else {
            return nil
        }
        do throws(ApplicationSecret.ParseError) {
            return try ApplicationSecret(hex: text)
        } catch {
            throw UsageError("\(source): \(error)")
        }
    }
}

/// A command-line mistake: printed as `error: …` and the command exits with status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The process environment, with empty values treated as unset.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}

extension ParsableCommand {
    /// Runs `body`, turning a ``UsageError`` into a message on standard error and exit status 2.
    func exitingOnUsageError<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
