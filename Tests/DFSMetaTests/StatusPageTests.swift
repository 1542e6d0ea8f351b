import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// The status page's HTML (its content is checked in a browser by the cluster tests) and the
/// throughput history behind its charts.
struct StatusPageTests {
    static func content(nodes: [NodeStatus], totals: HealthTotals, problems: [FileProblems] = [], rates: [ThroughputHistory.Rate] = [])
        -> StatusPage.Content
    {
        StatusPage.Content(
            server: "127.0.0.1:8000", uptime: 125, status: StatusOK(nodes: nodes, totals: totals), problemFiles: problems, rates: rates,
            generatedAt: 1_800_000_000)
    }

    @Test func showsEveryNodeWithItsStateAndTheHealthSummary() throws {
        let nodes = [
            NodeStatus(
                id: NodeID("node-a"), address: Endpoint(host: "10.0.0.1", port: 6771), alive: true, capacity: 100 << 30, used: 95 << 30, blocks: 12,
                lastHeartbeatAge: 0.4),
            NodeStatus(
                id: NodeID("node-b"), address: Endpoint(host: "10.0.0.2", port: 6771), alive: false, capacity: 100 << 30, used: 1 << 30, blocks: 3,
                lastHeartbeatAge: 42),
            NodeStatus(
                id: NodeID("node-c"), address: Endpoint(host: "10.0.0.3", port: 6771), alive: true, capacity: 100 << 30, used: 0, blocks: 0,
                lastHeartbeatAge: -1, leaving: true),
        ]
        let totals = HealthTotals(files: 7, blocks: 20, bytes: 5 << 20, underReplicated: 3, missing: 1, corrupt: 0)
        let problem = FileProblems(
            path: try DFSPath("/data/<b>bold</b> & 'quoted'"),
            problems: [BlockProblem(blockIndex: 0, blockID: BlockID(9), kind: .missing, goodReplicas: 0, expectedReplicas: 3)])
        let html = StatusPage.render(Self.content(nodes: nodes, totals: totals, problems: [problem]))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"\(StatusPage.refreshSeconds)\">"))
        for (id, state) in [("node-a", "alive"), ("node-b", "dead"), ("node-c", "leaving")] {
            #expect(html.contains("data-state=\"\(state)\"><td class=\"id\">\(id)</td>"))
        }
        #expect(html.contains("1 alive"))
        #expect(html.contains("1 dead · 1 leaving"))
        #expect(html.contains("16 healthy"))
        #expect(html.contains("3 under-replicated"))
        #expect(html.contains("<span class=\"missing\">1 missing</span>"))
        #expect(html.contains("· 0 corrupt"))
        #expect(html.contains("data at risk"))
        #expect(html.contains("none yet"))
        #expect(html.contains("42.0 s ago"))
        // A path is text, never markup.
        #expect(html.contains("/data/&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;"))
        #expect(!html.contains("<b>bold</b>"))
        // Nothing is fetched from elsewhere and no script runs.
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://") && !html.contains("https://"))
    }

    @Test func aHealthyClusterAndAnEmptyOne() {
        let healthy = StatusPage.render(
            Self.content(
                nodes: [
                    NodeStatus(
                        id: NodeID("n1"), address: Endpoint(host: "127.0.0.1", port: 1), alive: true, capacity: 10, used: 1, blocks: 1, lastHeartbeatAge: 1)
                ],
                totals: HealthTotals(files: 1, blocks: 1, bytes: 1, underReplicated: 0, missing: 0, corrupt: 0)))
        #expect(healthy.contains("id=\"verdict\">healthy<"))
        #expect(healthy.contains("None: every block has its replicas."))
        let empty = StatusPage.render(Self.content(nodes: [], totals: HealthTotals(files: 0, blocks: 0, bytes: 0, underReplicated: 0, missing: 0, corrupt: 0)))
        #expect(empty.contains("No data node has registered yet"))
        #expect(empty.contains("collecting…"))
    }

    @Test func escapesControlCharactersAndMarkup() {
        #expect(StatusPage.escape("a<b>&\"'\u{1b}[31m\u{85}z") == "a&lt;b&gt;&amp;&quot;&#39;&#27;[31m&#133;z")
        // A right-to-left override would show "file.exe" as "file.txt"-like text.
        #expect(StatusPage.escape("report\u{202E}txt.exe") == "report&#8238;txt.exe")
        #expect(StatusPage.escape("naïve ünïcode") == "naïve ünïcode")
    }

    @Test func worstFilesComeFirst() throws {
        func file(_ name: String, _ kinds: [BlockProblem.Kind]) throws -> FileProblems {
            FileProblems(
                path: try DFSPath("/" + name),
                problems: kinds.enumerated().map {
                    BlockProblem(blockIndex: $0, blockID: BlockID(UInt64($0 + 1)), kind: $1, goodReplicas: 0, expectedReplicas: 3)
                })
        }
        let files = [try file("under", [.underReplicated, .underReplicated]), try file("missing", [.missing]), try file("corrupt", [.corrupt])]
        #expect(StatusPage.worst(files).map(\.path.description) == ["/missing", "/corrupt", "/under"])
    }

    @Test func throughputAddsEachNodesIncreasesAndSurvivesARestart() {
        var history = ThroughputHistory()
        history.sample(now: 0, requests: 0)
        history.note(NodeID("a"), written: 1000, read: 100)
        history.note(NodeID("b"), written: 500, read: 0)
        // Too soon for another sample.
        history.sample(now: 1, requests: 5)
        #expect(history.samples.count == 1)
        history.sample(now: 5, requests: 50)
        // Node a restarted: its totals start again from zero.
        history.note(NodeID("a"), written: 200, read: 0)
        history.note(NodeID("b"), written: 1500, read: 10)
        history.note(NodeID("old"), written: nil, read: nil)
        history.sample(now: 10, requests: 60)
        #expect(
            history.rates == [
                ThroughputHistory.Rate(time: 5, requestsPerSecond: 10, bytesWrittenPerSecond: 300, bytesReadPerSecond: 20),
                ThroughputHistory.Rate(time: 10, requestsPerSecond: 2, bytesWrittenPerSecond: 240, bytesReadPerSecond: 2),
            ])
        for step in 3..<(ThroughputHistory.samplesMax + 10) { history.sample(now: Double(step) * 5, requests: step) }
        #expect(history.samples.count == ThroughputHistory.samplesMax)
    }
}
