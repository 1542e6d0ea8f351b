import DFSCore
import DFSMetrics
import DFSTesting
import Foundation
import Testing

/// The exposition every server shares: build and process metrics, requests by type, and
/// collectors that read the present before each scrape.
struct ServerMetricsTests {
    /// The value of the sample `series` (name with its labels, as written) in `text`.
    static func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func buildAndProcessMetricsAreThere() async throws {
        let metrics = ServerMetrics()
        let text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(Self.value("dfs_build_info{version=\"\(BuildInfo.version)\",protocol=\"\(protocolVersion)\"}", in: text) == 1)
        #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
        let resident = try #require(Self.value("process_resident_memory_bytes", in: text))
        #expect(resident > 1_000_000)
        let files = try #require(Self.value("process_open_fds", in: text))
        #expect(files >= 3)
        let started = try #require(Self.value("process_start_time_seconds", in: text))
        #expect(abs(started - Date().timeIntervalSince1970) < 24 * 3600)
    }

    @Test func cpuSecondsOnlyGrow() async throws {
        let metrics = ServerMetrics()
        let first = try #require(Self.value("process_cpu_seconds_total", in: String(decoding: await metrics.exposition(), as: UTF8.self)))
        // Burn a little CPU so the second reading differs.
        var sum = 0.0
        for index in 0..<3_000_000 { sum += Double(index % 7) }
        #expect(sum > 0)
        let second = try #require(Self.value("process_cpu_seconds_total", in: String(decoding: await metrics.exposition(), as: UTF8.self)))
        #expect(second > first)
    }

    @Test func requestsAreCountedByTypeAndUnknownTypesShareOneLabel() async throws {
        let metrics = ServerMetrics()
        let requests = RequestMetrics(metrics)
        requests.observe(type: "getFile", duration: .microseconds(300), failed: false)
        requests.observe(type: "getFile", duration: .milliseconds(3), failed: true)
        requests.observe(type: "no-such-type-1", duration: .milliseconds(1), failed: true)
        requests.observe(type: "no-such-type-2", duration: .milliseconds(1), failed: false)
        let text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(Self.value("dfs_requests_total{type=\"getFile\"}", in: text) == 2)
        #expect(Self.value("dfs_request_errors_total{type=\"getFile\"}", in: text) == 1)
        #expect(Self.value("dfs_requests_total{type=\"other\"}", in: text) == 2)
        #expect(!text.contains("no-such-type"))
        // 300 µs falls in the 0.0005 bucket, not in 0.00025; both requests are under 0.005.
        #expect(Self.value("dfs_request_duration_seconds_bucket{type=\"getFile\",le=\"0.00025\"}", in: text) == 0)
        #expect(Self.value("dfs_request_duration_seconds_bucket{type=\"getFile\",le=\"0.0005\"}", in: text) == 1)
        #expect(Self.value("dfs_request_duration_seconds_bucket{type=\"getFile\",le=\"0.005\"}", in: text) == 2)
        #expect(Self.value("dfs_request_duration_seconds_count{type=\"getFile\"}", in: text) == 2)
        let sum = try #require(Self.value("dfs_request_duration_seconds_sum{type=\"getFile\"}", in: text))
        #expect(abs(sum - 0.0033) < 1e-9)
        // A type not seen yet has no series.
        #expect(!text.contains("type=\"heartbeat\""))
    }

    @Test func collectorsRunBeforeEachExposition() async throws {
        let metrics = ServerMetrics()
        let gauge = metrics.gauge("dfs_test_reading", help: "A reading taken at each scrape.")
        let readings = Mutex(0)
        metrics.addCollector {
            let next = readings.withLock { count -> Int in
                count += 1
                return count
            }
            gauge.set(Double(next))
        }
        #expect(Self.value("dfs_test_reading", in: String(decoding: await metrics.exposition(), as: UTF8.self)) == 1)
        #expect(Self.value("dfs_test_reading", in: String(decoding: await metrics.exposition(), as: UTF8.self)) == 2)
    }

    /// Prometheus's own checker accepts the exposition, lint included (names, units, types).
    @Test(.enabled(if: Promtool.path != nil || getuid() == 0, "promtool is not installed; make deps installs it"))
    func promtoolAcceptsTheExposition() async throws {
        let metrics = ServerMetrics()
        let requests = RequestMetrics(metrics)
        requests.observe(type: "getFile", duration: .microseconds(300), failed: false)
        _ = metrics.durations("dfs_test_duration_seconds", help: "A histogram of durations.")
        let text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(try await Promtool.problems(in: text) == [])
        // And it does find problems: a counter without _total, a broken line.
        let broken = "# HELP dfs_bad A counter misnamed.\n# TYPE dfs_bad counter\ndfs_bad 1\ndfs_broken{ 2\n"
        #expect(try await !Promtool.problems(in: broken).isEmpty)
    }

    /// The example alert rules in Docs/ load in Prometheus (promtool checks their syntax and
    /// their PromQL), and every dfs metric they use is one a server exposes.
    @Test(.enabled(if: Promtool.path != nil || getuid() == 0, "promtool is not installed; make deps installs it"))
    func theExampleAlertRulesAreValid() async throws {
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Docs/prometheus/dfs-alerts.yml").path
        let promtool = try #require(Promtool.path)
        let result = try await Subprocess.run(promtool, ["check", "rules", rules])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("SUCCESS: 9 rules found"))
        let operations = try String(
            contentsOfFile: URL(fileURLWithPath: rules).deletingLastPathComponent().deletingLastPathComponent().path + "/OPERATIONS.md", encoding: .utf8)
        let text = try String(contentsOfFile: rules, encoding: .utf8)
        let used = Set(text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).filter { $0.hasPrefix("dfs_") }.map(String.init))
        #expect(!used.isEmpty)
        for name in used {
            let base = name.replacingOccurrences(of: "_bucket", with: "")
            #expect(operations.contains("`\(base)`"), "\(name) is not documented in OPERATIONS.md")
        }
    }
}
