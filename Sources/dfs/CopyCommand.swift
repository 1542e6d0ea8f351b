import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy a file into or out of the cluster.",
        discussion: """
            One side is local, the other is HOST:PORT:PATH (the leading / of PATH is optional).
            Examples:
              dfs cp ./report.pdf localhost:8000:docs/report.pdf     (upload)
              dfs cp localhost:8000:docs/report.pdf ./report.pdf     (download)
            An upload replaces a file of the same path; a download goes into a folder if the
            target is one. Write ./NAME for a local file whose name has colons.
            """
    )

    @Argument(help: "The file to copy: a local path or HOST:PORT:PATH.")
    var source: String

    @Argument(help: "Where to copy it: a local path or HOST:PORT:PATH.")
    var target: String

    @Option(help: "Block size of an upload (64MiB, 512KiB, 4096, ...).")
    var blockSize: SizeArgument = SizeArgument(bytes: 64 * 1024 * 1024)

    @Option(help: "Replicas per block of an upload (default: the meta server's).")
    var replication: Int?

    @Flag(name: [.customShort("n"), .long], help: "Never replace an existing file.")
    var noClobber = false

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
            let remoteSource = try RemoteLocation.parse(source)
            let remoteTarget = try RemoteLocation.parse(target)
            switch (remoteSource, remoteTarget) {
            case (nil, let remote?):
                try await upload(remote)
            case (let remote?, nil):
                let client = DFSClient(meta: remote.endpoint)
                defer { Task { await client.close() } }
                if FileManager.default.fileExists(atPath: target), noClobber, !isFolder(target) {
                    throw DFSError(.alreadyExists, "\(target) exists and -n was given")
                }
                try await client.download(remote.path, to: target)
            default:
                throw DFSError(.invalidArgument, """
                    exactly one side must be in the cluster; copy with
                      dfs cp LOCAL-FILE HOST:PORT:PATH   (upload)
                      dfs cp HOST:PORT:PATH LOCAL-FILE   (download)
                    """)
            }
        }
    }

    private func upload(_ remote: RemoteLocation) async throws {
        let client = DFSClient(meta: remote.endpoint)
        defer { Task { await client.close() } }
        var path = remote.path
        let localName = URL(fileURLWithPath: source).lastPathComponent
        // As cp does: a target that is a folder, or written with a trailing slash, gets the
        // file inside it under its own name.
        if target.hasSuffix("/") || remote.path.isRoot {
            path = try remote.path.appending(localName)
        } else if let existing = try? await client.stat(remote.path), existing.info.type == .dir {
            path = try remote.path.appending(localName)
        }
        let options = UploadOptions(blockBytes: blockSize.bytes, replication: replication, overwrite: !noClobber)
        try await client.upload(localPath: source, to: path, options: options)
    }

    private func isFolder(_ path: String) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
    }
}
