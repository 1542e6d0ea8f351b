import ArgumentParser
import DFSClient
import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct MakeDirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkdir",
        abstract: "Create folders, with the folders above them.",
        discussion: """
            Missing parents are always created and an existing folder is left as it is, as
            mkdir -p does (-p is accepted). A file in the way is an error.
            Examples:
              dfs mkdir localhost:8000:projects/2026/reports
              DFS_META=localhost:8000 dfs mkdir dfs:/a dfs:/b
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Flag(name: .customShort("p"), help: "Accepted for familiarity: parents are always created.")
    var parents = false

    @Argument(help: "HOST:PORT:PATH or dfs:PATH, one or more.")
    var locations: [String]

    func validate() throws {
        if locations.isEmpty { throw ValidationError("name at least one folder to create") }
    }

    func run() async throws {
        try await reportingErrors("mkdir") {
            let remotes = try Locations.requiredOnOneCluster(locations)
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                for remote in remotes { try await client.makeDirectory(remote.path) }
            }
        }
    }
}

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove files, or folder trees with -r.",
        discussion: """
            A folder that is not empty needs -r. Removed files' blocks are deleted on every
            node that holds them, within a heartbeat or two.
            Examples:
              dfs rm localhost:8000:docs/old.pdf
              dfs rm -r localhost:8000:scratch
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Flag(name: [.customShort("r"), .customShort("R"), .long], help: "Remove folders and everything in them.")
    var recursive = false

    @Flag(name: [.customShort("f"), .long], help: "Say nothing about paths that do not exist.")
    var force = false

    @Argument(help: "HOST:PORT:PATH or dfs:PATH, one or more.")
    var locations: [String]

    func validate() throws {
        if locations.isEmpty { throw ValidationError("name at least one path to remove") }
    }

    func run() async throws {
        try await reportingErrors("rm") {
            let remotes = try Locations.requiredOnOneCluster(locations)
            var failures: [DFSError] = []
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                for remote in remotes {
                    do {
                        try await client.remove(remote.path, recursive: recursive)
                    } catch let error as DFSError where error.code == .notFound && force {
                        continue
                    } catch let error as DFSError where error.code != .connectionFailed {
                        // As rm does: say what failed and go on with the rest.
                        failures.append(error)
                    }
                }
            }
            guard let last = failures.popLast() else { return }
            for failure in failures { printError("dfs rm: \(failure.message)") }
            throw last
        }
    }
}

struct MoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mv",
        abstract: "Rename or move a file or a folder inside the cluster.",
        discussion: """
            One transaction on the meta server: no block moves, and nobody sees a half-done
            move. As mv does: onto an existing folder the source goes inside it; onto an
            existing file, a file replaces it.
            Examples:
              dfs mv localhost:8000:docs/draft.pdf localhost:8000:docs/final.pdf
              dfs mv localhost:8000:inbox/report.pdf localhost:8000:archive
              DFS_META=localhost:8000 dfs mv dfs:/a dfs:/b
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "What to move: HOST:PORT:PATH or dfs:PATH.")
    var source: String

    @Argument(help: "Its new path (or a folder to move it into), on the same cluster.")
    var target: String

    func run() async throws {
        try await reportingErrors("mv") {
            let remotes = try Locations.requiredOnOneCluster([source, target])
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                try await client.move(remotes[0].path, to: remotes[1].path)
            }
        }
    }
}

struct CatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Write files to standard output.",
        discussion: """
            Streams: bytes go out as they arrive and are verified, whatever the file's size.
            Many files are written one after another, in order, through one connection to
            the meta server. As cat does, a file that cannot be read is named on standard
            error and skipped, the rest are still written, and the exit status is then 1.
            All paths must be on one cluster.
            Examples:
              dfs cat localhost:8000:docs/notes.txt
              dfs cat localhost:8000:logs/big.log | grep error
              DFS_META=localhost:8000 dfs cat dfs:/logs/a.log dfs:/logs/b.log > both.log
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "HOST:PORT:PATH or dfs:PATH, one or more.")
    var locations: [String]

    func validate() throws {
        if locations.isEmpty { throw ValidationError("name at least one file") }
    }

    func run() async throws {
        try await reportingErrors("cat") {
            let remotes = try Locations.requiredOnOneCluster(locations)
            var paths = PathByPath("cat")
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                // The metadata of up to 256 paths per request, then each file's bytes in order.
                for start in stride(from: 0, to: remotes.count, by: Limits.pathsPerGetFilesMax) {
                    let chunk = remotes[start..<min(remotes.count, start + Limits.pathsPerGetFilesMax)]
                    let found = Array(try await client.stat(chunk.map(\.path)))
                    var start = 0
                    while start < found.count {
                        // A run of files whose small ones add up to at most 4 MiB: their bytes
                        // come in batches (`readBlocks`), the others' one by one, all in order.
                        let end = Self.runEnd(found, from: start)
                        let files = found[start..<end].compactMap { try? $0.get() }
                        let small = await client.readSmallFiles(files)
                        var next = 0
                        for (remote, result) in zip(chunk.dropFirst(start), found[start..<end]) {
                            let bytes: [UInt8]?
                            if case .success = result {
                                bytes = small[next]
                                next += 1
                            } else {
                                bytes = nil
                            }
                            try await paths.run(remote.path) {
                                do {
                                    let file = try result.get()
                                    if let bytes {
                                        try StandardStream.write(bytes, to: 1)
                                    } else {
                                        try await client.stream(file, path: remote.path) { bytes in try StandardStream.write(bytes, to: 1) }
                                    }
                                } catch is StandardStream.Closed {
                                    // The reader went away (`dfs cat f | head`): stop quietly, as cat does.
                                    throw ExitCode(141)
                                }
                            }
                        }
                        start = end
                    }
                }
            }
            try paths.finish()
        }
    }

    /// The end of the run of files from `start` whose small files (those a batch reads) add
    /// up to at most ``Limits/payloadBytesMax``: at least one file.
    static func runEnd(_ found: [Result<GetFileOK, DFSError>], from start: Int) -> Int {
        var end = start
        var bytes = 0
        while end < found.count {
            let size = (try? found[end].get()).map { $0.info.size <= Limits.batchedFileBytesMax ? $0.info.size : 0 } ?? 0
            if end > start && bytes + size > Limits.payloadBytesMax { break }
            bytes += size
            end += 1
        }
        return end
    }
}
