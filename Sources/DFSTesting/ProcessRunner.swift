import DFSCore
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DFS_LOG"] = env["DFS_LOG"] ?? "warn"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let outputData = Mutex(Data())
        let errorData = Mutex(Data())
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            outputData.withLock { $0.append(data) }
        }
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            errorData.withLock { $0.append(data) }
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                process.terminate()
                process.waitUntilExit()
                throw DFSError(.timeout, "dfs \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        // Whatever is left in the pipes after exit.
        let restOut = output.fileHandleForReading.readDataToEndOfFile()
        let restErr = errors.fileHandleForReading.readDataToEndOfFile()
        outputData.withLock { $0.append(restOut) }
        errorData.withLock { $0.append(restErr) }
        return Result(
            status: process.terminationStatus,
            standardOutput: String(decoding: outputData.withLock { $0 }, as: UTF8.self),
            standardError: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
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
        process.environment = env
        output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        let lines = Mutex(Data())
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            lines.withLock { $0.append(data) }
        }
        try process.run()
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

    /// SIGTERM, then wait for the process to exit.
    public func stop() {
        output.fileHandleForReading.readabilityHandler = nil
        if process.isRunning {
            process.terminate()
        }
        process.waitUntilExit()
    }

    /// SIGKILL: the process dies at once, as in a crash.
    public func kill() {
        output.fileHandleForReading.readabilityHandler = nil
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
