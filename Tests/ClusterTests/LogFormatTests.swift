import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--log-format json`: every line a server writes on standard error is one JSON object a
/// log collector can read, its own notices included.
@Suite struct LogFormatTests {
    @Test func serveMetaWritesOnlyJSONLinesWithLogFormatJSON() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let errorPath = local.path("meta.stderr")
        let meta = try await ServerProcess(
            ["serve-meta", "--log-format", "json", "--port", "0", "--host", "127.0.0.1", "--db", local.path("meta.db")],
            environment: ["DFS_LOG": "info", "DFS_LOG_FORMAT": "text"], errorPath: errorPath)
        defer { meta.kill() }
        kill(meta.processIdentifier, SIGTERM)
        try await eventually(timeout: .seconds(15), "the meta server exited") { !meta.process.isRunning }
        #expect(meta.process.terminationReason == .exit && meta.process.terminationStatus == 0)

        let text = String(decoding: try FileSystem.contents(of: errorPath), as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        var objects: [[String: Any]] = []
        for line in text.split(separator: "\n") {
            let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8))
            let object = try #require(parsed as? [String: Any], "not a JSON object: \(line)")
            for key in ["time", "level", "component", "message"] {
                #expect(object[key] is String, "\(key) missing in \(line)")
            }
            objects.append(object)
        }
        #expect(
            objects.contains {
                $0["component"] as? String == "meta" && $0["level"] as? String == "info" && ($0["message"] as? String)?.hasPrefix("serving ") == true
            },
            "\(text)")
        #expect(
            objects.contains { $0["component"] as? String == "serve-meta" && ($0["message"] as? String)?.hasPrefix("stopping;") == true },
            "\(text)")
    }
}
