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
    /// CPU time of the child alone, user and system, in seconds.
    var cpuSeconds: Double = 0
    /// Its standard error, when the run captured it.
    var errors: String = ""
}

/// The benchmark's programs and servers, started as ``SpawnedProcess``es: standard input
/// /dev/null, standard output to a file, standard error passed through (or to a file, for a
/// program whose complaints belong in an error message).
enum ChildProcess {
    /// Runs `arguments[0]` with the rest as its arguments; standard output goes to a file that
    /// is read back, and so does standard error `capturingErrors` (else it is this process's).
    static func run(_ arguments: [String], environment: [String: String]? = nil, capturingErrors: Bool = false) throws -> ChildRun {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-bench-\(UUID().uuidString).out").path
        let errorPath = capturingErrors ? outputPath + ".err" : nil
        defer {
            FileSystem.removeQuietly(outputPath)
            if let errorPath { FileSystem.removeQuietly(errorPath) }
        }
        let started = ContinuousClock.now
        let process = try spawn(arguments, environment: environment, outputPath: outputPath, errorPath: errorPath)
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - started
        let output = String(decoding: (try? FileSystem.contents(of: outputPath)) ?? [], as: UTF8.self)
        let errors = errorPath.map { String(decoding: (try? FileSystem.contents(of: $0)) ?? [], as: UTF8.self) } ?? ""
        return ChildRun(
            status: process.shellStatus, seconds: elapsed.inSeconds, peakBytes: process.peakResidentBytes ?? 0, output: output,
            cpuSeconds: process.cpuSeconds ?? 0, errors: errors)
    }

    /// Starts a long-running child whose standard output goes to `outputPath`.
    static func start(_ arguments: [String], outputPath: String) throws -> SpawnedProcess {
        try spawn(arguments, environment: nil, outputPath: outputPath, errorPath: nil)
    }

    /// CPU time a running process has used so far, user and system, in seconds (fields 14
    /// and 15 of /proc/PID/stat, in clock ticks); 0 when it cannot be read.
    static func cpuSeconds(of process: SpawnedProcess) -> Double {
        guard let bytes = try? FileSystem.contents(of: "/proc/\(process.processIdentifier)/stat"),
            case let text = String(decoding: bytes, as: UTF8.self),
            // The command's name (field 2) is in parentheses and may hold spaces: count after it.
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
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

    private static func spawn(_ arguments: [String], environment: [String: String]?, outputPath: String, errorPath: String?) throws -> SpawnedProcess {
        var variables = environment ?? ProcessInfo.processInfo.environment
        // Servers and copies started by the benchmark say only what matters.
        variables["DFS_LOG"] = variables["DFS_LOG"] ?? "warn"
        do {
            return try SpawnedProcess(
                arguments[0], Array(arguments.dropFirst()), environment: variables, outputPath: outputPath, errorPath: errorPath,
                inheritStandardError: errorPath == nil)
        } catch let error as DFSError {
            throw DFSError(.ioError, error.message)
        }
    }
}
