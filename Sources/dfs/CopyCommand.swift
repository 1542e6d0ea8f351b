import ArgumentParser
import DFSClient
import DFSCore
import DFSSystem
import Foundation

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy a file or a folder tree into or out of the cluster.",
        discussion: """
            One side is local, the other is in the cluster: HOST:PORT:PATH (the leading / of
            PATH is optional), or dfs:PATH when DFS_META=HOST:PORT is set.
            Examples:
              dfs cp ./report.pdf localhost:8000:docs/report.pdf     (upload)
              dfs cp localhost:8000:docs/report.pdf ./report.pdf     (download)
              dfs cp -r ./project localhost:8000:backup/             (a folder tree)
              DFS_META=localhost:8000 dfs cp -r dfs:/backup/project ./restored
            As cp does: a target that is an existing folder gets the source inside it under
            its own name; otherwise the target is the copy's new name. An upload replaces a
            file of the same path unless -n is given. A progress line is drawn on standard
            error when it is a terminal. Write ./NAME for a local file whose name has colons.
            The cluster stores files, folders and symbolic links (copied as links, both
            ways, their targets as they are): an upload with -r names on standard error
            every FIFO, socket or device it leaves out,
            and every entry whose name the cluster cannot store (not UTF-8, or holding
            a control or bidirectional character; shown escaped, as caf\\xe9.txt),
            and copies the rest.
            Exit status: 0 when everything was copied (with --skip-special: all but
            special files); 1 on an error, including names that cannot be stored;
            \(Self.exitSpecialSkipped) when all but special files were copied (without it).
            """
    )

    /// The exit status of a tree upload that copied everything but special files (without
    /// --skip-special): not 1, so that a script can tell "a FIFO was left out" from a failure.
    static let exitSpecialSkipped: Int32 = 3

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "What to copy: a local path or a cluster path.")
    var source: String

    @Argument(help: "Where to copy it: a local path or a cluster path.")
    var target: String

    @Flag(name: [.customShort("r"), .customShort("R"), .long], help: "Copy a folder and everything in it.")
    var recursive = false

    @Flag(name: [.customShort("n"), .long], help: "Never replace an existing file (skip it).")
    var noClobber = false

    @Flag(name: [.customShort("q"), .long], help: "Draw no progress line.")
    var quiet = false

    @Flag(name: [.customShort("v"), .long], help: "Print each file as it is copied.")
    var verbose = false

    @Flag(
        help: ArgumentHelp(
            "With -r, leave out symbolic links, FIFOs, sockets and devices with a warning and exit 0.",
            discussion: "Without it, each is named on standard error and the exit status is \(Self.exitSpecialSkipped) once the rest is copied."))
    var skipSpecial = false

    @Flag(
        help: ArgumentHelp(
            "Read each downloaded copy back and compare its CRC32C, and its SHA-256 if one was recorded, with the whole file's.",
            discussion:
                "Every download is checked piece by piece (CRC32C) against the checksums computed at upload; this adds a check of the local copy as written, at about twice the CPU when a SHA-256 is compared."
        ))
    var verify = false

    @Flag(
        help: ArgumentHelp(
            "Record each uploaded file's SHA-256 too (shown by dfs stat, checked by cp --verify).",
            discussion: "Every file gets a whole-file CRC32C for free; a SHA-256 costs the client about 0.75 s of CPU per GiB."))
    var sha256 = false

    @Option(help: "Block size of an upload (64MiB, 512KiB, 4096, ...).")
    var blockSize: SizeArgument = SizeArgument(bytes: 64 * 1024 * 1024)

    @Option(help: "Replicas per block of an upload (default: the meta server's).")
    var replication: Int?

    func validate() throws {
        guard (Limits.blockBytesMin...Limits.blockBytesMax).contains(blockSize.bytes) else {
            throw ValidationError("--block-size must be \(ByteSize.format(Limits.blockBytesMin)) to \(ByteSize.format(Limits.blockBytesMax))")
        }
        if let replication, !(1...Limits.replicationMax).contains(replication) {
            throw ValidationError("--replication must be 1 to \(Limits.replicationMax)")
        }
    }

    func run() async throws {
        try await reportingErrors("cp") {
            let remoteSource = try Locations.remote(source)
            let remoteTarget = try Locations.remote(target)
            let progress = ProgressReporter(enabled: !quiet && isatty(STDERR_FILENO) == 1)
            defer { progress.finish() }
            switch (remoteSource, remoteTarget) {
            case (nil, let remote?):
                guard !verify else {
                    throw DFSError(.invalidArgument, "--verify checks downloads; an upload is always checked block by block")
                }
                try await DFSClient.using(remote.endpoints, secret: security, retry: retry, progress: progress.add) { client in
                    try await upload(remote, client: client, progress: progress)
                }
            case (let remote?, nil):
                guard !sha256 else {
                    throw DFSError(.invalidArgument, "--sha256 records a SHA-256 at upload; to check a download, use --verify")
                }
                try await DFSClient.using(remote.endpoints, secret: security, retry: retry, progress: progress.add) { client in
                    try await download(remote, client: client, progress: progress)
                }
            default:
                throw DFSError(
                    .invalidArgument,
                    """
                    exactly one side must be in the cluster; copy with
                      dfs cp LOCAL-PATH HOST:PORT:PATH   (upload)
                      dfs cp HOST:PORT:PATH LOCAL-PATH   (download)
                    """)
            }
        }
    }

    private var uploadOptions: UploadOptions {
        UploadOptions(blockBytes: blockSize.bytes, replication: replication, overwrite: !noClobber, sha256: sha256)
    }

    private func upload(_ remote: RemoteLocation, client: DFSClient, progress: ProgressReporter) async throws {
        let sourceIsFolder = try localKind(source)
        if sourceIsFolder && !recursive {
            throw DFSError(.isADirectory, "\(source) is a folder; copy it with cp -r")
        }
        let localName = URL(fileURLWithPath: source).standardizedFileURL.lastPathComponent
        // As cp does: an existing folder (or a target written with a trailing /) gets the
        // source inside it under its own name.
        var path = remote.path
        let existing = try await existingType(remote.path, client: client)
        if existing == .dir || (existing == nil && target.utf8.last == UInt8(ascii: "/")) {
            path = try remote.path.appending(localName)
        }
        if sourceIsFolder {
            if try await existingType(path, client: client) == .file {
                throw DFSError(.notADirectory, "\(path) is a file; a folder cannot be copied onto it")
            }
            let result = try await client.uploadTree(localFolder: source, to: path, options: uploadOptions, events: events(progress))
            report(result)
            try reportNotCopied(result, progress)
        } else {
            progress.expect(try localSize(source))
            do {
                try await client.upload(localPath: source, to: path, options: uploadOptions)
            } catch let error as DFSError where error.code == .alreadyExists && noClobber {
                throw DFSError(.alreadyExists, "\(path) exists and -n was given")
            }
            if verbose { printVerbose(source, path.string, progress) }
        }
    }

    private func download(_ remote: RemoteLocation, client: DFSClient, progress: ProgressReporter) async throws {
        let file = try await client.stat(remote.path)
        var localTarget = target
        if localIsFolder(target) || target.utf8.last == UInt8(ascii: "/") {
            let name = remote.path.isRoot ? "" : remote.path.name
            localTarget = URL(fileURLWithPath: target).appendingPathComponent(name).path
        }
        if file.info.type == .dir {
            guard recursive else { throw DFSError(.isADirectory, "\(remote.path) is a folder; copy it with cp -r") }
            let result = try await client.downloadTree(remote.path, to: localTarget, overwrite: !noClobber, verify: verify, events: events(progress))
            report(result)
            return
        }
        if noClobber, FileSystem.exists(localTarget) {
            throw DFSError(.alreadyExists, "\(localTarget) exists and -n was given")
        }
        progress.expect(file.info.size)
        try await client.download(remote.path, to: localTarget, verify: verify)
        if verbose { printVerbose(remote.path.string, localTarget, progress) }
    }

    private func events(_ progress: ProgressReporter) -> TreeCopyEvents {
        var events = TreeCopyEvents()
        events.planned = { _, bytes in progress.expect(bytes) }
        if verbose {
            events.copied = { source, target in printVerbose(source, target, progress) }
        }
        let skipSpecial = skipSpecial
        events.notCopied = { entry in
            progress.clearLine()
            switch entry.reason {
            case .special(let kind):
                printError("dfs cp: \(skipSpecial ? "warning: " : "")skipping \(kind) \(entry.path): only files, folders and links are stored")
            case .refusedName(let why):
                let what = entry.isFolder ? "folder \(entry.path) or anything in it" : entry.path
                printError("dfs cp: cannot copy \(what): \(why)")
            }
        }
        return events
    }

    /// After a tree upload: entries left out (each already named) make the exit status
    /// non-zero, unless they are special files and --skip-special was given.
    private func reportNotCopied(_ result: TreeCopyResult, _ progress: ProgressReporter) throws {
        if result.namesRefused > 0 {
            progress.clearLine()
            printError(
                "dfs cp: \(result.namesRefused) \(result.namesRefused == 1 ? "entry was" : "entries were") not copied: the cluster cannot store their names (named above); rename them and copy again"
            )
            throw ExitCode(1)
        }
        if result.specialSkipped > 0 && !skipSpecial {
            progress.clearLine()
            printError(
                "dfs cp: \(result.specialSkipped) special \(result.specialSkipped == 1 ? "file was" : "files were") not copied (named above); everything else was; --skip-special makes this a warning"
            )
            throw ExitCode(Self.exitSpecialSkipped)
        }
    }

    private func report(_ result: TreeCopyResult) {
        guard verbose else { return }
        let skipped = result.skipped > 0 ? ", \(result.skipped) skipped (they exist and -n was given)" : ""
        printNow("\(result.files) files, \(ByteSize.format(result.bytes))\(skipped)")
    }

    private func existingType(_ path: DFSPath, client: DFSClient) async throws -> EntryType? {
        do {
            return try await client.stat(path).info.type
        } catch let error as DFSError where error.code == .notFound {
            return nil
        }
    }

    /// True for a folder, false for a file; an error for anything else.
    private func localKind(_ path: String) throws -> Bool {
        guard let status = try? FileSystem.status(path) else {
            throw DFSError(.notFound, "no such local file or folder: \(path)")
        }
        return status.kind == .folder
    }

    private func localSize(_ path: String) throws -> Int {
        (try? FileSystem.status(path).size) ?? 0
    }

    private func localIsFolder(_ path: String) -> Bool {
        (try? FileSystem.status(path).kind) == .folder
    }
}

/// `cp -v`'s line for one file, printed over the progress line.
private func printVerbose(_ source: String, _ target: String, _ progress: ProgressReporter) {
    progress.clearLine()
    printNow("\(DisplayText.escaped(source)) -> \(DisplayText.escaped(target))")
}
