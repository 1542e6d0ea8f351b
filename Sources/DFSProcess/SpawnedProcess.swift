import DFSCore
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn(3), its output going to files: the one way
/// dfs starts programs, for `dfs bench` and for the tests.
///
/// Not Foundation's `Process`: on Linux its `run()` lists the parent's open descriptors into
/// a buffer sized before other threads open more, and a test run full of sockets crashed
/// it; nor does it report the child's peak memory, which the benchmark measures.
/// posix_spawn takes no such list (every descriptor dfs opens is close-on-exec), and no
/// pipe is read through a Dispatch source.
public final class SpawnedProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public let processIdentifier: pid_t
    /// The raw wait status and resource use, once the process has ended and been reaped.
    private let state = Mutex<(status: Int32, usage: rusage)?>(nil)

    /// Starts `executable` with `arguments`; standard input is /dev/null, standard output and
    /// error go to the files named (created or truncated), or to /dev/null; with
    /// `inheritStandardError`, standard error is this process's own.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        outputPath: String? = nil, errorPath: String? = nil, inheritStandardError: Bool = false
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if !inheritStandardError {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        // The child starts with no signal blocked and the usual dispositions, whatever the
        // spawning thread had (Dispatch's threads block signals).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var argv = ([executable] + arguments).map { strdup($0) } + [nil]
        var envp = variables.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, &argv, &envp)
        guard result == 0 else {
            throw DFSError(.internalError, "cannot start \(executable): \(SystemError.reason(of: result))")
        }
        processIdentifier = pid
    }

    /// Reaps the process with wait4(2) once it has ended (at once, or after waiting for it
    /// with `blocking`); nil while it runs.
    private func reap(blocking: Bool) -> (status: Int32, usage: rusage)? {
        state.withLock { ended in
            if ended != nil { return ended }
            var raw: Int32 = 0
            var usage = rusage()
            let result = retryingInterrupts { wait4(processIdentifier, &raw, blocking ? 0 : WNOHANG, &usage) }
            if result == processIdentifier { ended = (raw, usage) }
            return ended
        }
    }

    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Blocks the calling thread until the process has ended.
    public func waitUntilExit() { _ = reap(blocking: true) }

    public var terminationReason: TerminationReason {
        guard let raw = reap(blocking: false)?.status else { return .exit }
        return (raw & 0x7f) == 0 ? .exit : .uncaughtSignal
    }

    /// The exit status, or the signal's number when a signal ended it.
    public var terminationStatus: Int32 {
        guard let raw = reap(blocking: false)?.status else { return 0 }
        return (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    /// The status as a shell reports it: the exit status, or 128 plus the signal's number.
    public var shellStatus: Int32 {
        terminationReason == .exit ? terminationStatus : 128 + terminationStatus
    }

    /// Peak resident set of the process alone, in bytes (wait4's `ru_maxrss`), once it has
    /// ended; nil while it runs.
    public var peakResidentBytes: Int? {
        reap(blocking: false).map { Int($0.usage.ru_maxrss) * 1024 }
    }

    /// CPU time the process alone used, user and system, in seconds (wait4's `ru_utime` and
    /// `ru_stime`), once it has ended; nil while it runs.
    public var cpuSeconds: Double? {
        reap(blocking: false).map { result in
            let user = result.usage.ru_utime
            let system = result.usage.ru_stime
            return Double(user.tv_sec + system.tv_sec) + Double(user.tv_usec + system.tv_usec) / 1_000_000
        }
    }

    /// SIGTERM.
    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }

    /// SIGTERM, then up to `grace` for the process to exit, then SIGKILL; blocks the calling
    /// thread until it has ended.
    public func stop(grace: Duration) {
        terminate()
        let deadline = ContinuousClock.now + grace
        while isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if isRunning { kill(processIdentifier, SIGKILL) }
        waitUntilExit()
    }

    deinit {
        if isRunning {
            kill(processIdentifier, SIGKILL)
            waitUntilExit()
        }
    }
}
