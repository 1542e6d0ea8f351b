import ArgumentParser
import DFSClient
import DFSCore
import DFSProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark's report: the table people read and the JSON that `make bench` keeps.
extension Bench {
    /// The table, every round's figures of the rows that have several, the rows' notes (each
    /// once) and `notes`.
    static func table(_ results: [BenchResult], setup: String = "3 data nodes on 127.0.0.1", notes: [String] = []) -> String {
        func number(_ value: Double, _ unit: String) -> String {
            let digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3
            return String(format: "%.\(digits)f \(unit)", value)
        }
        var rows = [["measure", "dfs", "baseline", "ratio", "goal", "met"]]
        for result in results {
            let baseline = result.baseline.map { "\(result.baselineName ?? "") \(number($0, result.unit))" } ?? (result.baselineName ?? "")
            rows.append([
                result.name, number(result.value, result.unit), baseline,
                result.ratio.map { String(format: "%.2f", $0) } ?? "-", result.goal,
                result.met.map { $0 ? "yes" : "NO" } ?? "-",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        func list(_ values: [Double]) -> String {
            values.map { number($0, "").trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        }
        for result in results {
            guard let runs = result.runs, runs.count > 1 else { continue }
            var line = "\(result.name): every round, dfs " + list(runs)
            if let baselineRuns = result.baselineRuns {
                line += "; \(result.baselineName ?? "baseline") " + list(baselineRuns)
            }
            lines.append(line + " \(result.unit)")
        }
        var noted: Set<String> = []
        for note in results.compactMap(\.note) + notes where noted.insert(note).inserted {
            lines.append(note)
        }
        let header =
            "dfs bench \(Date().formatted(.iso8601)): \(setup), \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + "\(ByteSize.format(Int(ProcessInfo.processInfo.physicalMemory))) memory; ratio = dfs ÷ baseline, higher is better"
        return ([header] + lines).joined(separator: "\n")
    }

    static func json(_ results: [BenchResult], bench: Bench) throws -> Data {
        struct Report: Encodable {
            var date: String
            var cores: Int
            var memoryBytes: UInt64
            var fileBytes: Int
            var smallFiles: Int
            var bigBytes: Int
            var concurrentClients: Int
            var concurrentFiles: Int
            var results: [BenchResult]
        }
        let report = Report(
            date: Date().formatted(.iso8601), cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessInfo.processInfo.physicalMemory, fileBytes: bench.fileBytes, smallFiles: bench.smallFiles,
            bigBytes: bench.bigBytes, concurrentClients: bench.concurrentClients, concurrentFiles: bench.concurrentFiles, results: results)
        return try makeJSONEncoder(pretty: true).encode(report)
    }
}
