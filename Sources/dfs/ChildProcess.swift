import DFSCore
import DFSProcess
import DFSSystem
import Foundation

/// A program run to its end, for `dfs bench`: wall time and the child's own peak resident
/// memory, which Foundation's Process does not report.
struct ChildRun {
    var status: Int32
    var seconds: Double
    /// Peak resident set of the child alone, in bytes (wait4's ru_maxrss).
    var peakBytes: Int
    var output: String
}

/// The benchmark's programs and servers, started as ``SpawnedProcess``es: standard input
/// /dev/null, standard output to a file, standard error passed through.
enum ChildProcess {
    /// Runs `arguments[0]` with the rest as its arguments; standard output goes to a file that
    /// is read back.
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> ChildRun {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-bench-\(UUID().uuidString).out").path
        defer { FileSystem.removeQuietly(outputPath) }
        let started = ContinuousClock.now
        let process = try spawn(arguments, environment: environment, outputPath: outputPath)
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - started
        let output = String(decoding: (try? FileSystem.contents(of: outputPath)) ?? [], as: UTF8.self)
        return ChildRun(status: process.shellStatus, seconds: elapsed.inSeconds, peakBytes: process.peakResidentBytes ?? 0, output: output)
    }

    /// Starts a long-running child whose standard output goes to `outputPath`.
    static func start(_ arguments: [String], outputPath: String) throws -> SpawnedProcess {
        try spawn(arguments, environment: nil, outputPath: outputPath)
    }

    /// Peak resident set of a running process so far (VmHWM), in bytes.
    static func peakBytes(of process: SpawnedProcess) -> Int {
        guard let bytes = try? FileSystem.contents(of: "/proc/\(process.processIdentifier)/status"),
            case let status = String(decoding: bytes, as: UTF8.self),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kib * 1024
    }

    /// SIGTERM, then up to 10 s for the process to exit, then SIGKILL.
    static func stop(_ process: SpawnedProcess) {
        process.stop(grace: .seconds(10))
    }

    private static func spawn(_ arguments: [String], environment: [String: String]?, outputPath: String) throws -> SpawnedProcess {
        var variables = environment ?? ProcessInfo.processInfo.environment
        // Servers and copies started by the benchmark say only what matters.
        variables["DFS_LOG"] = variables["DFS_LOG"] ?? "warn"
        do {
            return try SpawnedProcess(
                arguments[0], Array(arguments.dropFirst()), environment: variables, outputPath: outputPath, inheritStandardError: true)
        } catch let error as DFSError {
            throw DFSError(.ioError, error.message)
        }
    }
}
