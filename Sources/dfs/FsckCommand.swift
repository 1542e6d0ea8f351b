import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct FsckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check that every block has its file's number of good replicas.",
        discussion: """
            Lists each file with under-replicated, corrupt or missing blocks, then totals.
            Exits 0 only when every block is healthy.
            Examples:
              dfs fsck localhost:8000
              dfs fsck --json localhost:8000:docs
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "HOST:PORT, HOST:PORT:PATH or dfs:PATH.")
    var location: String

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        var healthy = false
        try await reportingErrors("fsck") {
            let remote = try Locations.required(location)
            let client = try DFSClient(meta: remote.endpoint, secret: security, retry: retry)
            defer { Task { await client.close() } }
            let report = try await client.fsck(remote.path)
            healthy = report.healthy
            if json {
                printNow(try jsonText(report.view))
                return
            }
            for file in report.files {
                let problems = file.problems.map {
                    "block \($0.blockIndex) (id \($0.blockID)) \($0.kind.rawValue): \($0.goodReplicas) of \($0.expectedReplicas) replicas"
                }
                printNow("\(file.path): " + problems.joined(separator: "; "))
            }
            let totals = report.totals
            printNow("""
                files: \(totals.files), blocks: \(totals.blocks), under-replicated: \(totals.underReplicated), missing: \(totals.missing), corrupt: \(totals.corrupt)
                status: \(report.healthy ? "HEALTHY" : "UNHEALTHY")
                """)
        }
        if !healthy { throw ExitCode(1) }
    }
}

extension FsckOK {
    struct View: Encodable {
        var healthy: Bool
        var totals: HealthTotals
        var files: [FileProblems]
    }
    var view: View { View(healthy: healthy, totals: totals, files: files) }
}
