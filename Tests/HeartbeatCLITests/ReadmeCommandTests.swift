import Foundation
import HeartbeatTestSupport
import Testing

/// The README's promise that every command and flag it shows exists: `scripts/check-readme` runs
/// each `heartbeat …` line's subcommand with `--help` and looks for each flag, compares the serve
/// flag tables with `heartbeat serve --help` both ways, and checks every `scripts/…` it names.
@Suite("README commands")
struct ReadmeCommandTests {
    @Test("every command, flag and script README.md mentions exists")
    func readmeMatchesTheProgram() throws {
        let result = try runProcess(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [repositoryRoot.appendingPathComponent("scripts/check-readme").path, "--heartbeat", heartbeatExecutable().path])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("0 problem(s)"), "\(result.standardOutput)")
    }
}
