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

    struct JSONView: Encodable {
        struct Block: Encodable {
            var id: UInt64
            var index: Int
            var length: Int
            var crc32c: UInt32
            var replicas: [String]
        }
        var path: String
        var type: String
        var size: Int
        var mtime: Double
        var replication: Int?
        var blockSize: Int?
        var crc32c: UInt32?
        var sha256: String?
        var blocks: [Block]
    }

    static func json(_ file: GetFileOK) throws -> String {
        let info = file.info
        let isFile = info.type == .file
        let view = JSONView(
            path: info.path.string, type: info.type.rawValue, size: info.size, mtime: info.mtime,
            replication: isFile ? info.replication : nil, blockSize: isFile ? info.blockBytes : nil, crc32c: info.crc32c,
            sha256: info.sha256, blocks: file.blocks.map {
                JSONView.Block(id: $0.blockID.rawValue, index: $0.blockIndex, length: $0.length, crc32c: $0.checksum,
                               replicas: $0.replicas.map(\.address.description))
            })
        return try jsonText(view)
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
