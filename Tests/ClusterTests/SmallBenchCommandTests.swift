import DFSTesting
import Foundation
import Testing

/// `dfs bench --small` through the built binary: its rows, its JSON, its option checks.
@Suite struct SmallBenchCommandTests {
    /// A small run end to end: a cluster of processes, writers and readers, the two stat
    /// rows, a table, JSON with every row positive, and nothing left behind.
    @Test func smallBenchRunsEndToEndAndWritesItsJSON() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let result = try await DFSBinary.run(
            ["bench", "--small", "--clients", "2", "--files", "50", "--size", "100", "--dir", local.url.path, "--json", local.path("small.json")],
            timeout: .seconds(120))
        #expect(result.status == 0, "\(result.standardError)")
        let names = [
            "small files: write 50 × 100 B by 2 clients, R=1", "small files: write 50 × 100 B by 2 clients, R=1: latency p50",
            "small files: write 50 × 100 B by 2 clients, R=1: latency p99", "small files: read 50 × 100 B by 2 clients, random order",
            "small files: read 50 × 100 B by 2 clients, random order: latency p50",
            "small files: read 50 × 100 B by 2 clients, random order: latency p99", "stat of 50 files (client library)",
            "stat of 50 files, 16 callers at once (client library)",
        ]
        for name in names { #expect(result.standardOutput.contains(name), "\(name) in the table") }
        struct Report: Decodable {
            struct Line: Decodable {
                var name: String
                var value: Double
                var unit: String
                var baseline: Double?
                var goal: String
            }
            var clients: Int
            var files: Int
            var fileBytes: Int
            var results: [Line]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: local.path("small.json"))))
        #expect(report.clients == 2 && report.files == 50 && report.fileBytes == 100)
        #expect(report.results.map(\.name) == names)
        #expect(report.results.allSatisfy { $0.value > 0 && ($0.baseline ?? 0) > 0 }, "\(report.results)")
        #expect(report.results.filter { $0.unit == "files/s" }.count == 4)
        #expect(report.results.filter { $0.unit == "ms" }.count == 4)
        // The goals are for 16 clients and 1 KiB files; stat's hold at any size.
        #expect(report.results[0].goal == "-")
        #expect(report.results[6].goal == "≥ 15000 files/s" && report.results[7].goal == "≥ 40000 files/s")
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path) == ["small.json"])
    }

    /// Options out of range, or of another run, are refused before anything starts.
    @Test func smallBenchRefusesBadOptions() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let cases: [([String], String)] = [
            (["--clients", "0"], "--clients must be 1 to 256"),
            (["--clients", "257"], "--clients must be 1 to 256"),
            (["--files", "0"], "--files must be 1 to 1000000"),
            (["--files", "1000001"], "--files must be 1 to 1000000"),
            (["--size", "257KiB"], "--size with --small must be 0 to 256.0 KiB"),
            (["--quick"], "--small is a run of its own"),
            (["--scale"], "--small is a run of its own"),
        ]
        for (arguments, message) in cases {
            let result = try await DFSBinary.run(["bench", "--small", "--dir", local.url.path] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path).isEmpty)
    }
}
