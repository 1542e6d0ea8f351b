import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every data node, the cluster's totals and its meta servers.",
        discussion: """
            Examples:
              dfs status localhost:8000
              dfs status --json localhost:8000
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "The meta server, HOST:PORT, or the cluster's, HOST:PORT,HOST:PORT (default: $DFS_META).")
    var endpoint: MetaList?

    @Flag(help: "Print one JSON object with a `nodes` array and `totals`.")
    var json = false

    func run() async throws {
        try await reportingErrors("status") {
            let client = try DFSClient(meta: try MetaList.resolve(endpoint, usage: "dfs status HOST:PORT"), secret: security, retry: retry)
            defer { Task { await client.close() } }
            let status = try await client.status()
            if json {
                printNow(try jsonText(StatusJSON(status)))
                return
            }
            printNow("NODE                                  ADDRESS                STATE  CAPACITY     USED         BLOCKS  HEARTBEAT")
            for node in status.nodes {
                let columns = [
                    node.id.rawValue.padding(toLength: 37, withPad: " ", startingAt: 0),
                    node.address.description.padding(toLength: 22, withPad: " ", startingAt: 0),
                    (node.alive ? (node.slow == true ? "SLOW" : "alive") : node.leaving == true ? "LEFT" : "DEAD").padding(
                        toLength: 6, withPad: " ", startingAt: 0),
                    ByteSize.format(node.capacity).padding(toLength: 12, withPad: " ", startingAt: 0),
                    ByteSize.format(node.used).padding(toLength: 12, withPad: " ", startingAt: 0),
                    String(node.blocks).padding(toLength: 7, withPad: " ", startingAt: 0),
                    node.lastHeartbeatAge < 0 ? "none yet" : String(format: "%.1fs ago", node.lastHeartbeatAge),
                ]
                printNow(columns.joined(separator: " "))
            }
            let totals = status.totals
            let alive = status.nodes.filter(\.alive).count
            printNow(
                """
                nodes: \(alive) alive, \(status.nodes.count - alive) dead
                files: \(totals.files), blocks: \(totals.blocks), bytes: \(totals.bytes) (\(ByteSize.format(totals.bytes)))
                under-replicated blocks: \(totals.underReplicated), missing blocks: \(totals.missing), corrupt blocks: \(totals.corrupt)
                corrupt replicas: \(totals.corruptReplicas ?? 0), suspect replicas: \(totals.suspectReplicas ?? 0)
                """)
            if let servers = status.metaServers {
                printNow("meta servers:")
                for server in servers {
                    let role = server.active ? "active" : "standby"
                    printNow("  \(DisplayText.escaped(server.address)) \(role), seen \(String(format: "%.1fs ago", server.lastSeenAge))")
                }
            }
        }
    }
}
