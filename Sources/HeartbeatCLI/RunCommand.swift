import ArgumentParser
import ClientKit
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
            it cannot be run. Example, in a crontab:
              */5 * * * * heartbeat run --app 0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b -- /usr/local/bin/backup
            """
    )

    @OptionGroup var sender: SenderOptions

    @Argument(parsing: .postTerminator, help: "The command to run and its arguments, after `--`.")
    var command: [String] = []

    func run() throws {
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
}

/// The PID that forwarded signals go to; 0 while there is none. Written before the handlers are
/// installed and read only by them.
nonisolated(unsafe) private var forwardingTarget: pid_t = 0

/// Starts a child process with inherited standard streams, forwards signals to it, and waits.
enum ChildProcess {
    static let forwardedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    /// Runs `arguments` (looked up on PATH) and returns its exit status in the shell's convention.
    static func run(_ arguments: [String]) -> Int32 {
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
        let status = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, environ)
        guard status == 0 else {
            FileHandle.standardError.write(Data("heartbeat: cannot run '\(arguments[0])': \(String(cString: strerror(status)))\n".utf8))
            return status == ENOENT ? 127 : 126
        }
        forwardingTarget = pid
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 {
            guard errno == EINTR else { return 126 }
        }
        forwardingTarget = 0
        let terminatingSignal = waitStatus & 0x7f
        return terminatingSignal == 0 ? (waitStatus >> 8) & 0xff : 128 + terminatingSignal
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
