import DFSClient
import DFSCore
import DFSMeta
import DFSNet
import DFSProcess
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What an eavesdropper on the network sees: the loopback traffic of an upload, a download
/// and a `stat` is captured with tcpdump. With a cluster secret it holds neither the file's
/// bytes nor its path; without one it holds both (which shows the capture sees the traffic).
/// Capturing needs root, as on CI.
@Suite(.enabled(if: getuid() == 0, "capturing traffic needs root"))
struct TrafficCaptureTests {
    static let marker = "dfs-capture-marker-5d1c"

    /// tcpdump on the loopback interface, writing every packet to or from `ports` to `file`.
    final class Capture: Sendable {
        let process: SpawnedProcess
        let file: String

        init(file: String, ports: [Int]) async throws {
            self.file = file
            let path = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].first { FileManager.default.isExecutableFile(atPath: $0) }
            guard let path else { throw DFSError(.unavailable, "tcpdump is not installed (make deps installs it)") }
            let filter = "tcp and (" + ports.map { "port \($0)" }.joined(separator: " or ") + ")"
            let messages = file + ".log"
            process = try SpawnedProcess(path, ["-i", "lo", "-U", "-s", "0", "-w", file, filter], errorPath: messages)
            // tcpdump says "listening on lo" once packets are being captured.
            try await eventually(timeout: .seconds(20), "tcpdump started capturing") {
                guard self.process.isRunning else {
                    throw DFSError(.unavailable, "tcpdump ended: \((try? String(contentsOfFile: messages, encoding: .utf8)) ?? "")")
                }
                return ((try? String(contentsOfFile: messages, encoding: .utf8)) ?? "").contains("listening on")
            }
        }

        /// Stops the capture (SIGINT: tcpdump flushes its file) and returns what it wrote.
        func stop() async -> [UInt8] {
            if process.isRunning { kill(process.processIdentifier, SIGINT) }
            try? await eventually(timeout: .seconds(10), "tcpdump ended") { !self.process.isRunning }
            process.stop(grace: .zero)
            return (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))) ?? []
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let needle = Array(needle.utf8)
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start] == needle[0] && Array(haystack[start..<(start + needle.count)]) == needle
        }
    }

    @Test(arguments: [true, false])
    func trafficHoldsNeitherBytesNorPathsWhenThereIsASecret(withSecret: Bool) async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let text = String(repeating: Self.marker + " file contents\n", count: 2000)
        try Data(text.utf8).write(to: URL(fileURLWithPath: local.path("in")))
        let secret = try ClusterSecret("the capture test's secret, long")
        try await withCluster(dataNodes: 2, configure: { if withSecret { $0.secret = secret } }) { cluster in
            let ports = [cluster.metaEndpoint.port] + cluster.dataServers.compactMap { $0?.endpoint.port }
            let capture = try await Capture(file: local.path("capture.pcap"), ports: ports)
            let path = try DFSPath("/\(Self.marker)-folder/\(Self.marker)-name")
            do {
                try await cluster.client.upload(localPath: local.path("in"), to: path, options: UploadOptions(replication: 2))
                try await cluster.client.download(path, to: local.path("out"))
                _ = try await cluster.client.stat(path)
            } catch {
                _ = await capture.stop()
                throw error
            }
            let packets = await capture.stop()
            #expect(try String(contentsOfFile: local.path("out"), encoding: .utf8) == text)
            #expect(packets.count > text.utf8.count, "the capture holds the transfer (\(packets.count) bytes)")
            #expect(Self.contains(packets, Self.marker) == !withSecret, withSecret ? "the marker travelled in the clear" : "the capture missed the traffic")
            #expect(Self.contains(packets, "\(Self.marker)-folder") == !withSecret)
        }
    }
}
