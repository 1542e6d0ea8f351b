import DFSCore
import Dispatch
import Foundation

/// Runs the built `dfs` binary as a user would, for command-line tests.
public enum DFSBinary {
    /// The `dfs` executable next to the test bundle (`swift build` puts both in one folder).
    public static var path: String {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        // The test runner may be inside a bundle folder (`dfsPackageTests.xctest`).
        for _ in 0..<3 {
            let candidate = folder.appendingPathComponent("dfs").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return executable.deletingLastPathComponent().appendingPathComponent("dfs").path
    }

    public struct Result: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    /// Runs `dfs arguments...` to the end, killing it if it takes longer than `timeout`.
    public static func run(_ arguments: [String], timeout: Duration = .seconds(60), environment: [String: String] = [:]) async throws -> Result {
        var env = ProcessInfo.processInfo.environment
        env["DFS_PARENT_PID"] = String(getpid())
        env["DFS_LOG"] = env["DFS_LOG"] ?? "warn"
        for (key, value) in environment { env[key] = value }
        return try await Subprocess.run(path, arguments, environment: env, timeout: timeout)
    }
}

/// A child process started with posix_spawn(3), its output going to files.
///
/// Not Foundation's `Process`: on Linux its `run()` lists the parent's open descriptors into
/// a buffer sized before other threads open more, and a test run full of sockets crashed
/// it. posix_spawn takes no such list (every descriptor dfs opens is close-on-exec), and
/// no pipe is read through a Dispatch source.
public final class SpawnedProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public let processIdentifier: pid_t
    private let state = Mutex<Int32?>(nil)

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
            throw DFSError(.internalError, "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        processIdentifier = pid
    }

    /// The raw wait status once the process has ended and been reaped.
    private func reap(blocking: Bool) -> Int32? {
        state.withLock { status in
            if status != nil { return status }
            var raw: Int32 = 0
            while true {
                let result = waitpid(processIdentifier, &raw, blocking ? 0 : WNOHANG)
                if result == processIdentifier {
                    status = raw
                    break
                }
                if result < 0 && errno == EINTR { continue }
                break
            }
            return status
        }
    }

    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Blocks the calling thread until the process has ended.
    public func waitUntilExit() { _ = reap(blocking: true) }

    public var terminationReason: TerminationReason {
        guard let raw = reap(blocking: false) else { return .exit }
        return (raw & 0x7f) == 0 ? .exit : .uncaughtSignal
    }

    /// The exit status, or the signal's number when a signal ended it.
    public var terminationStatus: Int32 {
        guard let raw = reap(blocking: false) else { return 0 }
        return (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    /// SIGTERM.
    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }

    deinit {
        if isRunning {
            kill(processIdentifier, SIGKILL)
            waitUntilExit()
        }
    }
}

/// Runs any program to its end with its output captured. The waiting happens on threads of
/// its own: never on the few that run the in-process servers' tasks, nor on Dispatch's
/// pool, whose width the servers' disk work needs.
public enum Subprocess {
    /// Runs blocking `work` on a new thread and awaits its result.
    public static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.start()
        }
    }

    /// A fresh path for a child's output, in the temp folder.
    static func outputPath(_ what: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("dfs-child-\(UUID().uuidString.prefix(12)).\(what)").path
    }

    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)
    ) async throws -> DFSBinary.Result {
        try await onOwnThread {
            let outputPath = Subprocess.outputPath("out")
            let errorPath = Subprocess.outputPath("err")
            defer {
                unlink(outputPath)
                unlink(errorPath)
            }
            let process = try SpawnedProcess(
                executable, arguments, environment: environment, outputPath: outputPath, errorPath: errorPath)
            let timedOut = Mutex(false)
            let killer = DispatchWorkItem {
                timedOut.withLock { $0 = true }
                kill(process.processIdentifier, SIGKILL)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: killer)
            process.waitUntilExit()
            killer.cancel()
            if timedOut.withLock({ $0 }) {
                throw DFSError(.timeout, "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            let output = FileManager.default.contents(atPath: outputPath) ?? Data()
            let errors = FileManager.default.contents(atPath: errorPath) ?? Data()
            return DFSBinary.Result(
                status: process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus,
                standardOutput: String(decoding: output, as: UTF8.self),
                standardError: String(decoding: errors, as: UTF8.self))
        }
    }
}

/// A `dfs` server started as its own process; stopped by ``stop()``.
public final class ServerProcess: @unchecked Sendable {
    public let process: SpawnedProcess
    /// The address the server printed in its `listening on HOST:PORT` line.
    public let endpoint: Endpoint
    private let outputPath: String

    /// Starts `dfs arguments...` and waits until it prints where it listens.
    public init(_ arguments: [String], timeout: Duration = .seconds(20)) async throws {
        var env = ProcessInfo.processInfo.environment
        env["DFS_LOG"] = env["DFS_LOG"] ?? "warn"
        // If the test run dies, the server stops by itself.
        env["DFS_PARENT_PID"] = String(getpid())
        let outputPath = Subprocess.outputPath("server")
        self.outputPath = outputPath
        // Standard error (logs) is the test run's, as before; standard output goes to a file
        // that is read for the `listening on` line.
        let process = try SpawnedProcess(DFSBinary.path, arguments, environment: env, outputPath: outputPath, inheritStandardError: true)
        self.process = process
        let deadline = ContinuousClock.now + timeout
        var found: Endpoint?
        while found == nil {
            let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
            if let range = text.range(of: "listening on ") {
                let rest = text[range.upperBound...].prefix { !$0.isNewline && !$0.isWhitespace }
                if text[range.upperBound...].contains("\n") { found = try Endpoint(parsing: String(rest)) }
            }
            if found != nil { break }
            if !process.isRunning {
                unlink(outputPath)
                throw DFSError(.internalError, "dfs \(arguments.joined(separator: " ")) exited with \(process.terminationStatus) before listening")
            }
            if ContinuousClock.now >= deadline {
                Foundation.kill(process.processIdentifier, SIGKILL)
                unlink(outputPath)
                throw DFSError(.timeout, "dfs \(arguments.joined(separator: " ")) did not start listening within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        endpoint = found!
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    /// SIGTERM, then wait for the process to exit; SIGKILL if it has not within `grace`.
    public func stop(grace: Duration = .seconds(10)) async {
        process.terminate()
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        kill()
    }

    /// SIGKILL: the process dies at once, as in a crash.
    public func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        unlink(outputPath)
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        unlink(outputPath)
    }
}

/// A loopback port held by a socket that is bound but not listening: nobody else can take
/// it, and a connection to it is refused. For tests of unreachable endpoints, and of servers
/// that start after their clients.
public final class ReservedPort: @unchecked Sendable {
    public let port: Int
    private var fd: Int32

    public init() throws {
        (fd, port) = try boundLoopbackSocket(listening: false)
    }

    /// Frees the port, just before a server is started on it.
    public func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks, close-on-exec (a server the
/// test starts must not inherit it), listening or not; with the port it got.
func boundLoopbackSocket(listening: Bool) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard fd >= 0, bound == 0, named == 0, !listening || listen(fd, 64) == 0 else {
        if fd >= 0 { close(fd) }
        throw DFSError(.internalError, "cannot bind a loopback socket")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
