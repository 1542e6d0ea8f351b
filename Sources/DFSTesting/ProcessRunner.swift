import DFSCore
import DFSProcess
import DFSSystem
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
                FileSystem.removeQuietly(outputPath)
                FileSystem.removeQuietly(errorPath)
            }
            let process = try SpawnedProcess(
                executable, arguments, environment: environment, outputPath: outputPath, errorPath: errorPath)
            let timedOut = Mutex(false)
            let killer = DispatchWorkItem {
                timedOut.withLock { $0 = true }
                kill(process.processIdentifier, SIGKILL)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(timeout.inMilliseconds), execute: killer)
            process.waitUntilExit()
            killer.cancel()
            if timedOut.withLock({ $0 }) {
                throw DFSError(.timeout, "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            let output = Data((try? FileSystem.contents(of: outputPath)) ?? [])
            let errors = Data((try? FileSystem.contents(of: errorPath)) ?? [])
            return DFSBinary.Result(
                status: process.shellStatus,
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
    /// Its HTTP port, when it was started with `--http`.
    public let httpEndpoint: Endpoint?
    private let outputPath: String

    /// Starts `dfs arguments...` and waits until it prints where it listens; `environment`
    /// adds to the test run's, and `errorPath` names a file for its standard error (its log).
    public init(
        _ arguments: [String], environment: [String: String] = [:], errorPath: String? = nil, timeout: Duration = .seconds(20)
    ) async throws {
        var env = ProcessInfo.processInfo.environment
        env["DFS_LOG"] = env["DFS_LOG"] ?? "warn"
        // If the test run dies, the server stops by itself.
        env["DFS_PARENT_PID"] = String(getpid())
        for (key, value) in environment { env[key] = value }
        let outputPath = Subprocess.outputPath("server")
        self.outputPath = outputPath
        // Standard error (logs) is the test run's unless a file is named; standard output goes
        // to a file that is read for the `listening on` line.
        let process = try SpawnedProcess(
            DFSBinary.path, arguments, environment: env, outputPath: outputPath, errorPath: errorPath, inheritStandardError: errorPath == nil)
        self.process = process
        let deadline = ContinuousClock.now + timeout
        var found: Endpoint?
        var http: Endpoint?
        let wantsHTTP = arguments.contains("--http")
        while found == nil || (wantsHTTP && http == nil) {
            let text = String(decoding: Data((try? FileSystem.contents(of: outputPath)) ?? []), as: UTF8.self)
            found = try ListeningLine.endpoint(in: text)
            http = try ListeningLine.httpEndpoint(in: text)
            if found != nil && (!wantsHTTP || http != nil) { break }
            if !process.isRunning {
                FileSystem.removeQuietly(outputPath)
                throw DFSError(.internalError, "dfs \(arguments.joined(separator: " ")) exited with \(process.terminationStatus) before listening")
            }
            if ContinuousClock.now >= deadline {
                Foundation.kill(process.processIdentifier, SIGKILL)
                FileSystem.removeQuietly(outputPath)
                throw DFSError(.timeout, "dfs \(arguments.joined(separator: " ")) did not start listening within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        endpoint = found!
        httpEndpoint = http
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
        FileSystem.removeQuietly(outputPath)
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        FileSystem.removeQuietly(outputPath)
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
            SocketCalls.close(fd)
            fd = -1
        }
    }

    deinit { release() }
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks, close-on-exec (a server the
/// test starts must not inherit it), listening or not; with the port it got.
func boundLoopbackSocket(listening: Bool) throws -> (fd: Int32, port: Int) {
    do throws(SystemError) {
        return try SocketCalls.openLoopback(listening: listening)
    } catch {
        throw DFSError(.internalError, "cannot bind a loopback socket: \(error.reason)")
    }
}
