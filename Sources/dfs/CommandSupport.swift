import ArgumentParser
import DFSClient
import DFSCore
import DFSNet
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command's work; a failure becomes one line on standard error and exit status 1.
/// A server's line is one of its log lines (``printServerLine``), JSON when it logs JSON.
func reportingErrors(_ command: String, server: Bool = false, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        let message = DFSError.wrap(error).message
        if server {
            printServerLine(command, .error, message)
        } else {
            printError("dfs \(command): \(message)")
        }
        throw ExitCode(1)
    }
}

func printError(_ line: String) {
    try? StandardStream.write(Array((line + "\n").utf8), to: 2)
}

/// Prints a line to standard output at once, so a script reading a pipe sees it. When the
/// reader has gone (`dfs ls -R ... | head`), the process ends quietly, as Unix tools do.
func printNow(_ line: String) {
    do {
        try StandardStream.write(Array((line + "\n").utf8), to: 1)
    } catch {
        exit(error is StandardStream.Closed ? 141 : 1)
    }
}

/// The process this one must not outlive, when a harness names it in `DFS_PARENT_PID` (test
/// runs do): a server whose test run was killed then stops instead of running on.
enum ParentWatch {
    nonisolated(unsafe) private(set) static var parent: pid_t?

    /// Reads `DFS_PARENT_PID` once, at start, and takes it out of the environment: processes
    /// this one starts have another parent.
    static func capture() {
        if let text = getenv("DFS_PARENT_PID") {
            parent = pid_t(String(cString: text))
            unsetenv("DFS_PARENT_PID")
        }
    }
}

/// Waits until the process gets SIGINT or SIGTERM, or (see ``ParentWatch``) its parent is gone.
func waitForTerminationSignal() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let queue = DispatchQueue(label: "dfs.signals")
    let box = Mutex<[any DispatchSourceProtocol]>([])
    let watched = ParentWatch.parent
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let once = Mutex(false)
        let fire = {
            let first = once.withLock { fired in
                defer { fired = true }
                return !fired
            }
            if first { continuation.resume() }
        }
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: fire)
            source.activate()
            box.withLock { $0.append(source) }
        }
        if let watched {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now(), repeating: .milliseconds(250))
            timer.setEventHandler {
                if getppid() != watched {
                    printServerLine(nil, .info, "the process that started this one is gone; stopping")
                    fire()
                }
            }
            timer.activate()
            box.withLock { $0.append(timer) }
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
        let milliseconds = duration.inMilliseconds
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 && milliseconds >= 60_000 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

/// Cluster paths on the command line: `HOST:PORT:PATH`, or `dfs:PATH` when the environment
/// variable `DFS_META` names the meta server (`DFS_META=127.0.0.1:8000 dfs ls dfs:/docs`).
enum Locations {
    /// The cluster location `text` names, or nil when it is a local path.
    static func remote(_ text: String) throws -> RemoteLocation? {
        try RemoteLocation.parse(text, environment: ProcessInfo.processInfo.environment)
    }

    /// A location that must be in the cluster.
    static func required(_ text: String) throws -> RemoteLocation {
        guard let remote = try remote(text) else {
            throw DFSError(
                .invalidArgument,
                "'\(text)' is not a cluster path; write HOST:PORT:PATH (for example localhost:8000:docs/a.pdf) or, with DFS_META set, dfs:/docs/a.pdf")
        }
        return remote
    }

    /// Several locations that must all be on one cluster.
    static func requiredOnOneCluster(_ texts: [String]) throws -> [RemoteLocation] {
        let locations = try texts.map(required)
        // Lists of one cluster's meta servers may differ (a standby left out), but share one.
        if let first = locations.first, let other = locations.first(where: { Set($0.endpoints).isDisjoint(with: first.endpoints) }) {
            throw DFSError(
                .invalidArgument,
                "\(Endpoint.listDescription(other.endpoints)) and \(Endpoint.listDescription(first.endpoints)) are different clusters; name one meta server")
        }
        return locations
    }
}

/// `--secret-file`, or `DFS_SECRET`: the cluster secret, which every subcommand takes.
struct SecretOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A file holding the cluster secret (default: the DFS_SECRET environment variable).",
            discussion: "When the servers have a secret, every connection must prove it knows it.", valueName: "path"))
    var secretFile: String?

    func load() throws -> ClusterSecret? {
        try ClusterSecret.load(file: secretFile, environment: ProcessInfo.processInfo.environment)
    }
}

extension DFSClient {
    /// A client as the command line's options ask for it.
    convenience init(meta: [Endpoint], secret: SecretOptions, retry: RetryOptions, progress: (@Sendable (Int) -> Void)? = nil) throws {
        let notices = retry.noticePrinter()
        self.init(
            metaServers: meta, secret: try secret.load(), progress: progress, retryFor: retry.retryFor.duration,
            onRetry: { notices.show($0) })
    }

    /// Closes the client's connections however `body` ends.
    static func using<T>(
        _ meta: [Endpoint], secret: SecretOptions, retry: RetryOptions, progress: (@Sendable (Int) -> Void)? = nil,
        _ body: (DFSClient) async throws -> T
    ) async throws -> T {
        let client = try DFSClient(meta: meta, secret: secret, retry: retry, progress: progress)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}

/// A server that listens beyond loopback with no secret lets anyone on the network read,
/// write and delete: say so at start.
func warnIfExposed(host: String, secret: ClusterSecret?, command: String) {
    guard secret == nil else { return }
    if !Endpoint.isLoopback(host) {
        printServerLine(
            command, .warn,
            "listening on \(host.isEmpty ? "every interface" : host) without a cluster secret: anyone who can reach this port can read, write and delete data; set DFS_SECRET or pass --secret-file"
        )
    }
}

/// The encoder behind every `--json`: sorted keys and slashes as they are, so scripts and
/// people get the same stable text.
func makeJSONEncoder(pretty: Bool = false) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}

/// One line of JSON for `value`. Characters that could make the line show other names
/// than those stored (C1 and bidirectional controls, which JSONEncoder leaves as they are)
/// are written as `\uXXXX` escapes: the same JSON to a parser, plain text on a terminal.
func jsonText<T: Encodable>(_ value: T, encoder: JSONEncoder = makeJSONEncoder()) throws -> String {
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    guard text.unicodeScalars.contains(where: DisplayText.isMisleading) else { return text }
    var escaped = ""
    for scalar in text.unicodeScalars {
        if DisplayText.isMisleading(scalar) {
            // Every such character is below U+10000: four hex digits, no surrogate pair.
            let digits = String(scalar.value, radix: 16)
            escaped += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        } else {
            escaped.unicodeScalars.append(scalar)
        }
    }
    return escaped
}

/// Meta servers named on the command line: `HOST:PORT`, or a cluster's active and standby
/// servers, `HOST:PORT,HOST:PORT`.
struct MetaList: ExpressibleByArgument, Sendable {
    var endpoints: [Endpoint]

    var defaultValueDescription: String { Endpoint.listDescription(endpoints) }

    init?(argument: String) {
        guard let endpoints = try? Endpoint.parseList(argument) else { return nil }
        self.endpoints = endpoints
    }

    /// The list given, else `DFS_META`'s; `usage` shows how to name the server (`dfs
    /// status HOST:PORT`) in the error when there is neither.
    static func resolve(_ given: MetaList?, usage: String) throws -> [Endpoint] {
        if let given { return given.endpoints }
        guard let text = ProcessInfo.processInfo.environment["DFS_META"], !text.isEmpty else {
            throw DFSError(.invalidArgument, "name the meta server: \(usage), or set DFS_META=HOST:PORT")
        }
        do {
            return try Endpoint.parseList(text)
        } catch {
            throw DFSError(.invalidArgument, "DFS_META: \(error.message)")
        }
    }
}
