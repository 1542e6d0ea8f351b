import ArgumentParser
import DFSCore
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command's work; a failure becomes one line on standard error and exit status 1.
func reportingErrors(_ command: String, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as DFSError {
        printError("dfs \(command): \(error.message)")
        throw ExitCode(1)
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("dfs \(command): \(DFSError.wrap(error).message)")
        throw ExitCode(1)
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Prints a line to standard output at once, so a script reading a pipe sees it.
func printNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Waits until the process gets SIGINT or SIGTERM.
func waitForTerminationSignal() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let queue = DispatchQueue(label: "dfs.signals")
    let box = Mutex<[any DispatchSourceSignal]>([])
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let once = Mutex(false)
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let first = once.withLock { fired in
                    defer { fired = true }
                    return !fired
                }
                if first { continuation.resume() }
            }
            source.activate()
            box.withLock { $0.append(source) }
        }
    }
    box.withLock { sources in sources.forEach { $0.cancel() } }
}

extension Endpoint: ExpressibleByArgument {
    public init?(argument: String) {
        guard let endpoint = try? Endpoint(parsing: argument) else { return nil }
        self = endpoint
    }
}

/// A size option such as `64MiB`.
struct SizeArgument: ExpressibleByArgument {
    var bytes: Int
    init?(argument: String) {
        guard let bytes = try? ByteSize.parse(argument) else { return nil }
        self.bytes = bytes
    }
    init(bytes: Int) { self.bytes = bytes }
    var defaultValueDescription: String { ByteSize.format(bytes).replacingOccurrences(of: ".0 ", with: "").replacingOccurrences(of: " ", with: "") }
}

/// A duration option such as `3s` or `500ms`.
struct DurationArgument: ExpressibleByArgument {
    var duration: Duration
    init?(argument: String) {
        guard let duration = try? DurationText.parse(argument) else { return nil }
        self.duration = duration
    }
    init(_ duration: Duration) { self.duration = duration }
    var defaultValueDescription: String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 && milliseconds >= 60_000 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
