import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show a file's or folder's metadata, its SHA-256 and where its blocks are.",
        discussion: """
            Examples:
              dfs stat localhost:8000:docs/report.pdf
              dfs stat --json localhost:8000:docs/report.pdf
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "HOST:PORT:PATH or dfs:PATH.")
    var location: String

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        try await reportingErrors("stat") {
            let remote = try Locations.required(location)
            let client = try DFSClient(meta: remote.endpoint, secret: security, retry: retry)
            defer { Task { await client.close() } }
            let file = try await client.stat(remote.path)
            if json {
                printNow(try Self.json(file))
            } else {
                printNow(Self.text(file))
            }
        }
    }

    static func json(_ file: GetFileOK) throws -> String {
        try jsonText(FileInfoJSON(file))
    }

    static func text(_ file: GetFileOK) -> String {
        let info = file.info
        var lines = ["path:         \(info.path)", "type:         \(info.type == .dir ? "folder" : "file")"]
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
