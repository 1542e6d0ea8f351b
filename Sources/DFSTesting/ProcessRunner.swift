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

/// Runs any program to its end with its output captured. The waiting happens on threads of
/// its own: never on the few that run the in-process servers' tasks, nor on Dispatch's
/// pool, whose width the servers' disk work needs.
public enum Subprocess {
    private static let launching = Mutex(())

    /// Starts `process`, one launch at a time: Foundation's `Process.run()` is not safe to
    /// call from several threads at once on Linux (it crashed copying its arguments while
    /// other launches ran).
    public static func launch(_ process: Process) throws {
        try launching.withLock { _ in try process.run() }
    }

    /// Runs blocking `work` on a new thread and awaits its result.
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.start()
        }
    }

    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)
    ) async throws -> DFSBinary.Result {
        try await onOwnThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let environment { process.environment = environment }
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            try Subprocess.launch(process)
            let timedOut = Mutex(false)
            let killer = DispatchWorkItem {
                timedOut.withLock { $0 = true }
                Foundation.kill(process.processIdentifier, SIGKILL)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: killer)
            // Both pipes are drained at once, so a chatty child never blocks on a full one.
            let errorData = Mutex(Data())
            let errorsDone = DispatchSemaphore(value: 0)
            Thread {
                let data = errors.fileHandleForReading.readDataToEndOfFile()
                errorData.withLock { $0 = data }
                errorsDone.signal()
            }.start()
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            errorsDone.wait()
            process.waitUntilExit()
            killer.cancel()
            if timedOut.withLock({ $0 }) {
                throw DFSError(.timeout, "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            return DFSBinary.Result(
                status: process.terminationStatus,
                standardOutput: String(decoding: outputData, as: UTF8.self),
                standardError: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
        }
    }
}

/// A `dfs` server started as its own process; stopped by ``stop()``.
public final class ServerProcess: @unchecked Sendable {
    public let process: Process
    /// The address the server printed in its `listening on HOST:PORT` line.
    public let endpoint: Endpoint
    private let output: Pipe

    /// Starts `dfs arguments...` and waits until it prints where it listens.
    public init(_ arguments: [String], timeout: Duration = .seconds(20)) async throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: DFSBinary.path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DFS_LOG"] = env["DFS_LOG"] ?? "warn"
        // If the test run dies, the server stops by itself.
        env["DFS_PARENT_PID"] = String(getpid())
        process.environment = env
        output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        let lines = Mutex(Data())
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            lines.withLock { $0.append(data) }
        }
        try Subprocess.launch(process)
        let deadline = ContinuousClock.now + timeout
        var found: Endpoint?
        while found == nil {
            let text = String(decoding: lines.withLock { $0 }, as: UTF8.self)
            if let range = text.range(of: "listening on ") {
                let rest = text[range.upperBound...].prefix { !$0.isNewline && !$0.isWhitespace }
                if text[range.upperBound...].contains("\n") { found = try Endpoint(parsing: String(rest)) }
            }
            if found != nil { break }
            if !process.isRunning {
                throw DFSError(.internalError, "dfs \(arguments.joined(separator: " ")) exited with \(process.terminationStatus) before listening")
            }
            if ContinuousClock.now >= deadline {
                process.terminate()
                throw DFSError(.timeout, "dfs \(arguments.joined(separator: " ")) did not start listening within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        endpoint = found!
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    /// SIGTERM, then wait for the process to exit; SIGKILL if it has not within `grace`.
    /// Standard output keeps being drained meanwhile, so a last line never meets a full or
    /// closed pipe.
    public func stop(grace: Duration = .seconds(10)) async {
        if process.isRunning {
            process.terminate()
        }
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
        output.fileHandleForReading.readabilityHandler = nil
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }
}

/// A loopback port held by a socket that is bound but not listening: nobody else can take
/// it, and a connection to it is refused. For tests of unreachable endpoints, and of servers
/// that start after their clients.
public final class ReservedPort: @unchecked Sendable {
    public let port: Int
    private var fd: Int32

    public init() throws {
        // Close-on-exec: a server the test starts must not inherit the port's holder.
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
        guard fd >= 0, bound == 0, named == 0 else {
            if fd >= 0 { close(fd) }
            throw DFSError(.internalError, "cannot reserve a loopback port")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
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
