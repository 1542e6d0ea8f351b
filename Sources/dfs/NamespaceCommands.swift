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
            try await DFSClient.using(remotes[0].endpoint, secret: security, retry: retry) { client in
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
            try await DFSClient.using(remotes[0].endpoint, secret: security, retry: retry) { client in
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
            try await DFSClient.using(remotes[0].endpoint, secret: security, retry: retry) { client in
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
            try await DFSClient.using(remotes[0].endpoint, secret: security, retry: retry) { client in
                for remote in remotes {
                    try await paths.run(remote.path) {
                        do {
                            try await client.stream(remote.path) { bytes in try StandardStream.write(bytes, to: 1) }
                        } catch is StandardStream.Closed {
                            // The reader went away (`dfs cat f | head`): stop quietly, as cat does.
                            throw ExitCode(141)
                        }
                    }
                }
            }
            try paths.finish()
        }
    }
}
