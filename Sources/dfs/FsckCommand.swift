import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct FsckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check that every block has its file's number of good replicas.",
        discussion: """
            Lists each file with under-replicated, corrupt or missing blocks, then rows of
            the namespace whose path, parent and name disagree (left by older versions or by
            hand edits; they list in the wrong folder or in none), then totals.
            A block is missing when no live node has it, corrupt when live nodes have only
            damaged copies. Corrupt replicas wait for their block to be whole elsewhere before
            they are deleted; suspect replicas were reported by a reader and are being
            re-verified by their node (they still count as good).
            Exits 0 only when every block is healthy and no such row exists.
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
            let client = try DFSClient(meta: remote.endpoints, secret: security, retry: retry)
            defer { Task { await client.close() } }
            let report = try await client.fsck(remote.path)
            healthy = report.healthy
            if json {
                printNow(try jsonText(report.view))
                return
            }
            for file in report.files {
                let problems = file.problems.map { problem in
                    var text =
                        "block \(problem.blockIndex) (id \(problem.blockID)) \(problem.kind.rawValue): \(problem.goodReplicas) of \(problem.expectedReplicas) replicas"
                    if let corrupt = problem.corruptReplicas, corrupt > 0 { text += ", \(corrupt) corrupt" }
                    if let suspect = problem.suspectReplicas, suspect > 0 { text += ", \(suspect) suspect" }
                    return text
                }
                printNow("\(file.path): " + problems.joined(separator: "; "))
            }
            if let paths = report.pathProblems {
                for row in paths.rows {
                    printNow("\(DisplayText.escaped(row.path)): \(row.type == .dir ? "folder" : "file") row: \(DisplayText.escaped(row.problem))")
                }
                printNow("rows whose path, parent and name disagree: \(paths.count)")
            }
            let totals = report.totals
            printNow(
                """
                files: \(totals.files), blocks: \(totals.blocks), under-replicated: \(totals.underReplicated), missing: \(totals.missing), corrupt: \(totals.corrupt), corrupt replicas: \(totals.corruptReplicas ?? 0), suspect replicas: \(totals.suspectReplicas ?? 0)
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
        var pathProblems: PathProblems?
    }
    var view: View { View(healthy: healthy, totals: totals, files: files, pathProblems: pathProblems) }
}
