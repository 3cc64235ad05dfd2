import ArgumentParser
import ClientKit
import Collector
import Foundation
import Protocol

#if canImport(Glibc)
import Glibc
#endif

/// `heartbeat run -- COMMAND [ARGS…]`: wraps a job (a cron entry, say) in `start` and
/// `success`/`fail` records.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command between a start and a success/fail heartbeat.",
        discussion: """
            Sends `start`, runs COMMAND with standard input, output and error passed through and \
            signals (TERM, INT, HUP, QUIT, USR1, USR2) forwarded, then sends `success` when it \
            exits 0 or `fail` with its exit status otherwise, and exits with the command's own \
            status: 128+N when it was killed by signal N, 127 when it cannot be found, 126 when \
            it cannot be run. With --http-endpoint the start and the end are HTTP pings to the \
            collector's sidecar instead of UDP records, and --capture N sends the last N KiB of the \
            command's output (standard output and error, still passed through) with the end, \
            stored with the run and shown in its notification. Example, in a crontab:
              */5 * * * * heartbeat run --app 0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b -- /usr/local/bin/backup
              0 3 * * * heartbeat run --app 0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b --http-endpoint http://collector:7412 --capture 64 -- /usr/local/bin/backup
            """
    )

    @OptionGroup var sender: SenderOptions

    @Option(help: ArgumentHelp(
        "Report over HTTP to the collector's sidecar at this address instead of UDP. Env: HEARTBEAT_HTTP_ENDPOINT.", valueName: "http://host:port"))
    var httpEndpoint: String?

    @Option(help: ArgumentHelp("Send the last N KiB (1-100) of the command's output with the end; needs --http-endpoint. Default: off.", valueName: "N"))
    var capture: Int?

    @Argument(parsing: .postTerminator, help: "The command to run and its arguments, after `--`.")
    var command: [String] = []

    func run() throws {
        if let endpoint = httpEndpoint ?? Environment.value("HEARTBEAT_HTTP_ENDPOINT") { try runOverHTTP(endpoint) }
        if capture != nil {
            try exitingOnUsageError { () throws -> Void in
                throw UsageError("--capture sends the output over HTTP: pass --http-endpoint (or set HEARTBEAT_HTTP_ENDPOINT)")
            }
        }
        let client = try exitingOnUsageError { () throws -> HeartbeatClient in
            guard !command.isEmpty else { throw UsageError("no command: use heartbeat run [options] -- COMMAND [ARGS...]") }
            return HeartbeatClient(
                endpoint: try sender.resolvedEndpoint(), application: try sender.resolvedApplication(),
                secret: try sender.resolvedSecret())
        }
        _ = client.waitUntilResolved(timeoutMillis: 5_000)
        client.start()
        let exitStatus = ChildProcess.run(command)
        if exitStatus == 0 {
            client.success(status: 0)
        } else {
            client.fail(status: exitStatus)
        }
        if client.statistics.recordsSent != 2 {
            FileHandle.standardError.write(Data(
                "heartbeat: warning: not every record reached \(client.endpoint) (\(client.statistics))\n".utf8))
        }
        throw ExitCode(exitStatus)
    }

    /// The run reported by HTTP pings: start, the command (its output captured with `--capture`),
    /// the end with its exit status and output. A ping that fails is a warning; the command's own
    /// status is the exit status either way.
    private func runOverHTTP(_ endpoint: String) throws -> Never {
        let (reporter, captureBytes) = try exitingOnUsageError { () throws -> (HTTPRunReporter, Int?) in
            guard !command.isEmpty else { throw UsageError("no command: use heartbeat run [options] -- COMMAND [ARGS...]") }
            if let capture, !(1...100).contains(capture) { throw UsageError("--capture: \(capture) is not 1 to 100 KiB") }
            let reporter = try HTTPRunReporter(base: endpoint, application: try sender.resolvedApplication(), secret: try sender.resolvedSecret())
            return (reporter, capture.map { $0 * 1_024 })
        }
        func warn(_ what: String, _ failure: String?) {
            guard let failure else { return }
            FileHandle.standardError.write(Data("heartbeat: warning: the \(what) ping to \(reporter.base) failed: \(failure)\n".utf8))
        }
        warn("start", reporter.start())
        let (exitStatus, output) = ChildProcess.run(command, captureBytes: captureBytes)
        warn("end", reporter.end(exitStatus: exitStatus, output: output))
        throw ExitCode(exitStatus)
    }
}

/// The PID that forwarded signals go to; 0 while there is none. Written before the handlers are
/// installed and read only by them.
nonisolated(unsafe) private var forwardingTarget: pid_t = 0

/// Starts a child process with inherited standard streams, forwards signals to it, and waits.
enum ChildProcess {
    static let forwardedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    /// Runs `arguments` (looked up on PATH) and returns its exit status in the shell's convention.
    static func run(_ arguments: [String]) -> Int32 {
        run(arguments, captureBytes: nil).status
    }

    /// ``run(_:)``, also keeping the last `captureBytes` of the command's standard output and
    /// error (in the order they arrived) when given: both still reach this process's own streams.
    static func run(_ arguments: [String], captureBytes: Int?) -> (status: Int32, output: CapturedOutput?) {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // Handlers go in before the child starts, so a signal in between cannot orphan it; the
        // child's exec resets them to their defaults.
        installForwarding()
        // The child starts with no signal blocked and default dispositions, whatever this process
        // inherited (a parent may block or ignore signals; both survive exec otherwise).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaulted = sigset_t()
        sigemptyset(&defaulted)
        for signal in forwardedSignals + [SIGPIPE, SIGCHLD, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU] { sigaddset(&defaulted, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaulted)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        // With a capture, the child's standard output and error are pipes this process reads.
        var pipes: [[Int32]] = []
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if captureBytes != nil {
            for target in [STDOUT_FILENO, STDERR_FILENO] {
                var ends: [Int32] = [-1, -1]
                guard pipe(&ends) == 0 else { break }
                _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
                posix_spawn_file_actions_adddup2(&actions, ends[1], target)
                posix_spawn_file_actions_addclose(&actions, ends[1])
                pipes.append(ends)
            }
        }
        let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        for ends in pipes { close(ends[1]) }
        guard status == 0 else {
            for ends in pipes { close(ends[0]) }
            let message = "heartbeat: cannot run '\(arguments[0])': \(String(cString: strerror(status)))\n"
            FileHandle.standardError.write(Data(message.utf8))
            return (status == ENOENT ? 127 : 126, captureBytes.map { CapturedOutput(Array(message.utf8), limit: $0) })
        }
        forwardingTarget = pid
        let output = captureBytes.map { tee(pipes.map { $0[0] }, keeping: $0) }
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 {
            guard errno == EINTR else { return (126, output) }
        }
        forwardingTarget = 0
        let terminatingSignal = waitStatus & 0x7f
        return (terminatingSignal == 0 ? (waitStatus >> 8) & 0xff : 128 + terminatingSignal, output)
    }

    /// Copies each of `sources` (the child's output, then error pipe) to this process's standard
    /// output or error as it arrives, keeping the last `limit` bytes of both, until both end.
    private static func tee(_ sources: [Int32], keeping limit: Int) -> CapturedOutput {
        var captured = CapturedOutput(limit: limit)
        var polled = sources.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while polled.contains(where: { $0.fd >= 0 }) {
            guard poll(&polled, nfds_t(polled.count), -1) >= 0 || errno == EINTR else { break }
            for index in polled.indices where polled[index].fd >= 0 && polled[index].revents != 0 {
                let count = read(polled[index].fd, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    close(polled[index].fd)
                    polled[index].fd = -1
                    continue
                }
                captured.append(buffer[0..<count])
                var written = 0
                let destination = index == 0 ? STDOUT_FILENO : STDERR_FILENO
                while written < count {
                    let step = buffer[written..<count].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
                    if step < 0, errno == EINTR { continue }
                    guard step > 0 else { break }
                    written += step
                }
            }
        }
        return captured
    }

    private static func installForwarding() {
        for signal in forwardedSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, _ in
                let target = forwardingTarget
                guard target > 0 else { return }
                // A terminal's Ctrl-C or Ctrl-\ already reached the child (same process group).
                if let info, info.pointee.si_code == SI_KERNEL { return }
                kill(target, signal)
            }
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}
