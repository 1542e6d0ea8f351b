import DFSClient
import DFSCore
import DFSData
import DFSHTTP
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The servers' HTTP ports on a live cluster: `/metrics` checked by Prometheus's own promtool
/// and followed through a node's death and the repair after it; the status page loaded in
/// headless Chromium; bad requests to the port. One test at a time: nodes die on purpose.
@Suite(.serialized) struct MonitoringTests {
    static let anyLoopbackPort = Endpoint(host: "127.0.0.1", port: 0)

    static func fast(_ options: inout MetaServer.Options) {
        options.heartbeatInterval = .milliseconds(100)
        options.deadAfter = .seconds(2)
        options.repairInterval = .milliseconds(100)
        options.http = anyLoopbackPort
    }

    /// Every sample of the exposition at `endpoint`, by series (name and labels as written).
    static func scrape(_ endpoint: Endpoint) async throws -> (text: String, samples: [String: Double]) {
        let response = try await RawClient.get(endpoint, "/metrics")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        var samples: [String: Double] = [:]
        for line in response.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return (response.text, samples)
    }

    static func metaHTTP(_ cluster: TestCluster) throws -> Endpoint {
        try #require(cluster.meta.monitoring?.endpoint)
    }

    /// promtool is required where the suite runs as root (CI, where `make deps` installed it).
    static let promtoolExpected = Promtool.path != nil || getuid() == 0

    @Test(.enabled(if: promtoolExpected, "promtool is not installed; make deps installs it"))
    func metricsFollowANodeDeathAndTheRepairAfterIt() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        _ = try local.writeRandomFile("f", count: 3 * 256 * 1024, seed: 17)
        try await withCluster(dataNodes: 3, configure: Self.fast, configureData: { $0.http = Self.anyLoopbackPort }) { cluster in
            let http = try Self.metaHTTP(cluster)
            let path = try DFSPath("/watched/f")
            // Three replicas on three nodes: with one dead, no node is left to copy to, so
            // the blocks stay under-replicated until a fourth node joins.
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 256 * 1024, replication: 3))
            try await eventually("every block healthy in the metrics") {
                let samples = try await Self.scrape(http).samples
                return samples["dfs_blocks{health=\"healthy\"}"] == 3 && samples["dfs_nodes{state=\"alive\"}"] == 3
                    && samples["dfs_requests_total{type=\"heartbeat\"}"] ?? 0 >= 3
            }
            let (text, samples) = try await Self.scrape(http)
            #expect(try await Promtool.problems(in: text) == [])
            #expect(samples["dfs_files"] == 1)
            #expect(samples["dfs_file_bytes"] == Double(3 * 256 * 1024))
            #expect(samples["dfs_nodes{state=\"dead\"}"] == 0)
            #expect(samples["dfs_blocks{health=\"under_replicated\"}"] == 0)
            #expect((samples["dfs_requests_total{type=\"createFile\"}"] ?? 0) >= 1)
            #expect(samples["dfs_requests_total{type=\"registerNode\"}"] == 3)
            #expect((samples["dfs_commit_sync_duration_seconds_count"] ?? 0) >= 1)
            #expect((samples["dfs_capacity_bytes"] ?? 0) > 0)
            #expect((samples["process_resident_memory_bytes"] ?? 0) > 0)

            // Every node's own port: its share of the bytes, checked by promtool too.
            var written = 0.0
            for server in cluster.dataServers.compactMap({ $0 }) {
                let node = try #require(server.monitoring?.endpoint)
                let (nodeText, nodeSamples) = try await Self.scrape(node)
                #expect(try await Promtool.problems(in: nodeText) == [])
                #expect(nodeSamples["dfs_node_blocks"] == 3)
                #expect(nodeSamples["dfs_node_registered"] == 1)
                #expect((nodeSamples["dfs_node_capacity_bytes"] ?? 0) >= (nodeSamples["dfs_node_used_bytes"] ?? 0))
                #expect((nodeSamples["dfs_node_block_flush_duration_seconds_count"] ?? 0) >= 1)
                written += nodeSamples["dfs_node_bytes_written_total"] ?? 0
            }
            #expect(written == Double(3 * 3 * 256 * 1024))

            await cluster.stopDataNode(0)
            try await eventually("a dead node and under-replicated blocks in the metrics") {
                let samples = try await Self.scrape(http).samples
                return samples["dfs_nodes{state=\"dead\"}"] == 1 && samples["dfs_blocks{health=\"under_replicated\"}"] == 3
                    && samples["dfs_blocks{health=\"healthy\"}"] == 0
            }
            try await cluster.addDataNode { $0.http = Self.anyLoopbackPort }
            try await eventually(timeout: .seconds(30), "the blocks repaired onto the new node") {
                let samples = try await Self.scrape(http).samples
                return samples["dfs_blocks{health=\"under_replicated\"}"] == 0 && samples["dfs_blocks{health=\"healthy\"}"] == 3
                    && samples["dfs_repair_copies_total"] == 3
            }
            let after = try await Self.scrape(http).samples
            #expect(after["dfs_nodes{state=\"alive\"}"] == 3)
            #expect(after["dfs_nodes{state=\"dead\"}"] == 1)
            #expect((after["dfs_repair_copies_started_total"] ?? 0) >= 3)
            let newcomer = try #require(cluster.dataServers.last??.monitoring?.endpoint)
            try await eventually("the new node counts the copies it received") {
                try await Self.scrape(newcomer).samples["dfs_node_bytes_written_total"] == Double(3 * 256 * 1024)
            }
        }
    }

    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Headless Chromium, as a person would open the page: the DOM it built, or a screenshot.
    static func chromium(_ arguments: [String], profile: String) async throws -> String {
        let program = try #require(chromium, "chromium is not installed; make deps installs it")
        let result = try await Subprocess.run(
            program,
            ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)", "--hide-scrollbars"] + arguments,
            environment: ["HOME": profile, "PATH": "/usr/bin:/bin"], timeout: .seconds(90))
        #expect(result.status == 0, "chromium: \(result.standardError.suffix(2000))")
        return result.standardOutput
    }

    @Test(.enabled(if: chromium != nil || getuid() == 0, "chromium is not installed; make deps installs it"))
    func theStatusPageShowsEveryNodeAndTheHealthSummaryInABrowser() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        _ = try local.writeRandomFile("f", count: 100_000, seed: 3)
        try await withCluster(dataNodes: 3, configure: Self.fast) { cluster in
            let http = try Self.metaHTTP(cluster)
            let path = try DFSPath("/page/<unhealthy> & file")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 3))
            let stopped = try #require(cluster.dataServers[2]?.store.nodeID)
            await cluster.stopDataNode(2)
            try await eventually("the node is dead") {
                try await cluster.client.status().nodes.contains { $0.id == stopped && !$0.alive }
            }
            let dom = try await Self.chromium(["--dump-dom", "http://\(http)/"], profile: local.path("profile"))
            for server in cluster.dataServers.compactMap({ $0 }) {
                #expect(dom.contains("data-state=\"alive\"><td class=\"id\">\(server.store.nodeID.rawValue)</td>"))
            }
            #expect(dom.contains("data-state=\"dead\"><td class=\"id\">\(stopped.rawValue)</td>"))
            #expect(dom.contains("2 alive"))
            #expect(dom.contains("1 dead"))
            #expect(dom.contains("1 under-replicated"))
            #expect(dom.contains("degraded"))
            // The file's name as text, escaped, in the list of unhealthy files.
            #expect(dom.contains("/page/&lt;unhealthy&gt; &amp; file"))
            #expect(!dom.contains("<unhealthy>"))
            // And the page draws: a screenshot of it is a PNG of some substance.
            let shot = local.path("page.png")
            _ = try await Self.chromium(["--screenshot=\(shot)", "--window-size=1200,900", "http://\(http)/"], profile: local.path("profile"))
            let png = try [UInt8](Data(contentsOf: URL(fileURLWithPath: shot)))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            #expect(png.count > 10_000)
        }
    }

    @Test func theHTTPPortIsReadOnlyAndRefusesBadRequests() async throws {
        let secret = try ClusterSecret("the monitoring test's secret, long")
        try await withCluster(dataNodes: 1, configure: { $0.http = Self.anyLoopbackPort }) { cluster in
            let http = try Self.metaHTTP(cluster)
            #expect(try await RawClient.get(http, "/api/status").status == 200)
            #expect(try await RawClient.get(http, "/nothing-here").status == 404)
            for request in [
                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
            ] {
                let client = try await RawClient.connect(to: http)
                try await client.send(request)
                let response = try await client.readResponse()
                #expect(response.status == 405)
                #expect(response.headers["Allow"] == "GET, HEAD")
                await client.close()
            }
            // Garbage, and a header section over the limit: a 4xx, then the connection closes.
            for (request, status) in [
                ("\u{16}\u{03}\u{01} not http at all\r\n\r\n", 400),
                ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 40_000) + "\r\n\r\n", 431),
            ] {
                let client = try await RawClient.connect(to: http)
                try await client.send(request)
                #expect(try await client.readResponse().status == status)
                #expect(try await client.serverClosed())
                await client.close()
            }
            // HEAD: the length of what GET would send, and no body.
            let client = try await RawClient.connect(to: http)
            try await client.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await client.readResponse(toHead: true)
            #expect(head.status == 200 && head.body.isEmpty && Int(head.headers["Content-Length"] ?? "") ?? 0 > 0)
            await client.close()
            // The cluster still answers.
            _ = try await cluster.client.status()
        }
        // With a secret: the page and the metrics only, no JSON API.
        try await withCluster(
            dataNodes: 1,
            configure: {
                $0.secret = secret
                $0.http = Self.anyLoopbackPort
            }
        ) { cluster in
            let http = try Self.metaHTTP(cluster)
            #expect(try await RawClient.get(http, "/metrics").status == 200)
            #expect(try await RawClient.get(http, "/").status == 200)
            #expect(try await RawClient.get(http, "/api/status").status == 404)
        }
    }
}
