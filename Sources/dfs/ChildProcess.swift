import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program run to its end with posix_spawn and wait4, for `dfs bench`: wall time and the
/// child's own peak resident memory, which Foundation's Process does not report.
struct ChildRun {
    var status: Int32
    var seconds: Double
    /// Peak resident set of the child alone, in bytes (wait4's ru_maxrss).
    var peakBytes: Int
    var output: String
}

enum ChildProcess {
    /// Runs `arguments[0]` with the rest as its arguments; standard output goes to a file that
    /// is read back, standard error is passed through.
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> ChildRun {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-bench-\(UUID().uuidString).out").path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let started = ContinuousClock.now
        let pid = try spawn(arguments, environment: environment, actions: &actions)
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw DFSError(.ioError, "wait4: \(String(cString: strerror(errno)))") }
        }
        let elapsed = ContinuousClock.now - started
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildRun(
            status: exitStatus, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            peakBytes: Int(usage.ru_maxrss) * 1024, output: output)
    }

    /// Starts a long-running child whose standard output goes to `outputPath`.
    static func start(_ arguments: [String], outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        return try spawn(arguments, environment: nil, actions: &actions)
    }

    /// Peak resident set of a running process so far (VmHWM), in bytes.
    static func peakBytes(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kib * 1024
    }

    /// SIGTERM, then up to 10 s for the process to exit, then SIGKILL.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    private static func spawn(_ arguments: [String], environment: [String: String]?, actions: inout posix_spawn_file_actions_t) throws -> pid_t {
        var variables = environment ?? ProcessInfo.processInfo.environment
        // Servers and copies started by the benchmark say only what matters.
        variables["DFS_LOG"] = variables["DFS_LOG"] ?? "warn"
        let env = variables.map { "\($0.key)=\($0.value)" }
        var argv = arguments.map { strdup($0) } + [nil]
        var envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, &argv, &envp)
        guard result == 0 else {
            throw DFSError(.ioError, "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
