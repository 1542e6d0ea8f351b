import ArgumentParser
import DFSClient
import DFSCore
import Foundation

/// `dfs meta-backup [HOST:PORT] FILE`: a consistent copy of a running meta server's database.
struct MetaBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meta-backup",
        abstract: "Copy a running meta server's database into a local file, consistently, while it serves.",
        discussion: """
            The copy is checked by the server (SQLite's integrity check) and by this command \
            (CRC32C), flushed to disk and only then given its name. Start a meta server on it \
            to restore: dfs serve-meta --db FILE. Operations.md has the restore drill.
            Examples:
              dfs meta-backup localhost:8000 ./meta-backup.db
              DFS_META=localhost:8000 dfs meta-backup ./meta-backup.db
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: ArgumentHelp("The meta server, HOST:PORT (default: $DFS_META), then the file to write.", valueName: "[host:port] file"))
    var operands: [String]

    @Flag(help: "Replace FILE if it exists.")
    var force = false

    func validate() throws {
        guard (1...2).contains(operands.count) else {
            throw ValidationError("name the meta server and the file: dfs meta-backup HOST:PORT FILE")
        }
    }

    func run() async throws {
        try await reportingErrors("meta-backup") {
            let file = operands[operands.count - 1]
            let endpoints =
                operands.count == 2
                ? try Endpoint.parseList(operands[0]) : try MetaList.resolve(nil, usage: "dfs meta-backup HOST:PORT FILE")
            let endpoint = Endpoint.listDescription(endpoints)
            let summary: BackupOK
            do {
                summary = try await DFSClient.using(endpoints, secret: security, retry: retry) { client in
                    try await client.backupMeta(to: file, overwrite: force)
                }
            } catch let error as DFSError where error.code == .alreadyExists {
                throw DFSError(.alreadyExists, "\(error.message); pass --force to replace it")
            }
            printNow("backed up \(endpoint) to \(file): \(ByteSize.format(summary.bytes)) (\(summary.bytes) bytes), \(summary.files) files")
        }
    }
}
