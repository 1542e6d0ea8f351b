import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show files' or folders' metadata, their checksums and where their blocks are.",
        discussion: """
            Takes many paths, as stat(1) does: each is shown in order (a blank line between
            them), through one connection to the meta server. A path that fails is named on
            standard error and the rest are still shown; the exit status is then 1. All paths
            must be on one cluster.
            With --json, each path is one JSON object on a line of its own (JSON Lines): one
            path prints one object, as it always did; jq reads the stream as it is, and
            jq -s makes it one array.
            Examples:
              dfs stat localhost:8000:docs/report.pdf
              dfs stat --json localhost:8000:docs/report.pdf
              DFS_META=localhost:8000 dfs stat --json dfs:/a dfs:/b | jq -r '.path + " " + (.size|tostring)'
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "HOST:PORT:PATH or dfs:PATH, one or more.")
    var locations: [String]

    @Flag(help: "Print one JSON object per path, each on a line of its own.")
    var json = false

    func validate() throws {
        if locations.isEmpty { throw ValidationError("name at least one file or folder") }
    }

    func run() async throws {
        try await reportingErrors("stat") {
            let remotes = try Locations.requiredOnOneCluster(locations)
            var paths = PathByPath("stat")
            var shown = 0
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                // The metadata of up to 256 paths per request; each path printed in order.
                for start in stride(from: 0, to: remotes.count, by: Limits.pathsPerGetFilesMax) {
                    let chunk = remotes[start..<min(remotes.count, start + Limits.pathsPerGetFilesMax)]
                    let found = try await client.stat(chunk.map(\.path))
                    for (remote, result) in zip(chunk, found) {
                        try await paths.run(remote.path) {
                            let file = try result.get()
                            if json {
                                printNow(try Self.json(file))
                            } else {
                                printNow((shown > 0 ? "\n" : "") + Self.text(file))
                            }
                            shown += 1
                        }
                    }
                }
            }
            try paths.finish()
        }
    }

    static func json(_ file: GetFileOK) throws -> String {
        try jsonText(FileInfoJSON(file))
    }

    static func text(_ file: GetFileOK) -> String {
        let info = file.info
        let type = info.type == .dir ? "folder" : info.type == .link ? "link" : "file"
        var lines = ["path:         \(info.path)", "type:         \(type)"]
        if let target = info.target { lines.append("target:       \(DisplayText.escaped(target))") }
        lines.append(
            "mode:         \(info.modeString) (\(String(info.shownMode, radix: 8)))  owner \(info.uid.map(String.init) ?? "-")  group \(info.gid.map(String.init) ?? "-")"
        )
        guard info.type == .file else { return lines.joined(separator: "\n") }
        let mtime = Date(timeIntervalSince1970: info.mtime).formatted(.iso8601)
        lines += [
            "size:         \(info.size) (\(ByteSize.format(info.size)))",
            "modified:     \(mtime)",
            "replication:  \(info.replication)",
            "block size:   \(ByteSize.format(info.blockBytes))",
            "crc32c:       \(info.crc32c.map(Hex.crc32c) ?? "-")",
            "sha256:       \(info.sha256 ?? "-")",
            "blocks:       \(file.blocks.count)",
        ]
        for block in file.blocks {
            let replicas = block.replicas.map(\.address.description).joined(separator: " ")
            let note = block.replicas.count < info.replication ? "  (under-replicated)" : ""
            lines.append("  #\(block.blockIndex) id \(block.blockID) \(block.length) bytes on \(replicas.isEmpty ? "no node" : replicas)\(note)")
        }
        return lines.joined(separator: "\n")
    }
}
