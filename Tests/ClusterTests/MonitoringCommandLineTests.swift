import DFSCore
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--http` on the server commands, as an operator starts them: each prints where its HTTP
/// port listens, serves `/metrics` that promtool accepts, and a secret-protected server
/// listening beyond loopback warns that the port is plain HTTP.
@Suite(.serialized) struct MonitoringCommandLineTests {
    @Test(.enabled(if: Promtool.path != nil || getuid() == 0, "promtool is not installed; make deps installs it"))
    func serversOpenTheirHTTPPortsAndServeMetrics() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let meta = try await ServerProcess([
            "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms", "--http", "127.0.0.1:0",
        ])
        defer { Task { await meta.stop() } }
        let data = try await ServerProcess([
            "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data"), "--http", "127.0.0.1:0",
        ])
        defer { Task { await data.stop() } }
        let metaHTTP = try #require(meta.httpEndpoint)
        let dataHTTP = try #require(data.httpEndpoint)
        try await eventually("the node registered, as both ports tell") {
            let metaText = try await RawClient.get(metaHTTP, "/metrics").text
            let dataText = try await RawClient.get(dataHTTP, "/metrics").text
            return metaText.contains("dfs_nodes{state=\"alive\"} 1.0") && dataText.contains("dfs_node_registered 1.0")
        }
        for endpoint in [metaHTTP, dataHTTP] {
            let response = try await RawClient.get(endpoint, "/metrics")
            #expect(response.status == 200)
            #expect(try await Promtool.problems(in: response.text) == [])
            #expect(response.text.contains("dfs_build_info{version=\"\(BuildInfo.version)\""))
        }
        let page = try await RawClient.get(metaHTTP, "/")
        #expect(page.status == 200 && page.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(try await RawClient.get(dataHTTP, "/").text.contains("dfs data node"))
        await data.stop()
        await meta.stop()
    }

    @Test func aSecretServerWarnsWhenItsHTTPPortListensBeyondLoopback() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try Data("a secret for the HTTP warning test\n".utf8).write(to: URL(fileURLWithPath: local.path("secret")))
        let log = local.path("meta.log")
        let meta = try await ServerProcess(
            [
                "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--secret-file", local.path("secret"),
                "--http", ":0",
            ], environment: ["DFS_LOG": "warn"], errorPath: log)
        defer { Task { await meta.stop() } }
        let http = try #require(meta.httpEndpoint)
        // Reached here over loopback; only the page and the metrics, no JSON API.
        let loopback = Endpoint(host: "127.0.0.1", port: http.port)
        #expect(try await RawClient.get(loopback, "/metrics").status == 200)
        #expect(try await RawClient.get(loopback, "/api/status").status == 404)
        try await eventually("the warning is in the log") {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("is not encrypted or authenticated")
        }
        await meta.stop()
    }
}
