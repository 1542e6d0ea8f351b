import DFSClient
import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// The built `dfs` binary, run as a user would, against real clusters.
@Suite struct CommandLineTests {
    @Test func copyInListAndCopyOutThroughTheBinary() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("report.pdf", count: 2_500_000, seed: 21)
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let upload = try await DFSBinary.run(["cp", "--block-size", "1MiB", local.path("report.pdf"), "\(meta):docs/report.pdf"])
            #expect(upload.status == 0, "\(upload.standardError)")
            let names = try await DFSBinary.run(["ls", "\(meta):docs"])
            #expect(names.status == 0)
            #expect(names.standardOutput == "report.pdf\n")
            let list = try await DFSBinary.run(["ls", "-l", "\(meta):docs"])
            #expect(list.standardOutput.contains("report.pdf"))
            #expect(list.standardOutput.contains("2500000"))
            let long = try await DFSBinary.run(["ls", "-l", "\(meta):/"])
            #expect(long.standardOutput.contains("drwxr-xr-x "))
            #expect(long.standardOutput.contains("docs/"))
            let recursive = try await DFSBinary.run(["ls", "-R", "\(meta)"])
            #expect(recursive.standardOutput.contains("/docs/report.pdf"))
            let download = try await DFSBinary.run(["cp", "\(meta):/docs/report.pdf", local.path("copy.pdf")])
            #expect(download.status == 0, "\(download.standardError)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("copy.pdf")))) == original)
        }
    }

    /// A server started with DFS_PARENT_PID (as every test starts one) stops once that
    /// process is gone, so a killed test run leaves no server behind.
    @Test func serverStopsWhenItsParentIsGone() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        // The shell starts the server in the background and exits at once: the server is orphaned.
        let script =
            "DFS_PARENT_PID=$$ '\(DFSBinary.path)' serve-meta --host 127.0.0.1 --port 0 --db '\(local.path("meta.db"))' "
            + "> '\(local.path("out"))' 2>&1 & echo $! > '\(local.path("pid"))'"
        let shell = try await Subprocess.run("/bin/sh", ["-c", script], timeout: .seconds(20))
        #expect(shell.status == 0)
        let pid = try #require(Int32(String(contentsOfFile: local.path("pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        func running() -> Bool {
            // A zombie waiting for its new parent to reap it has stopped running.
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
            return !status.contains("State:\tZ")
        }
        try await eventually(timeout: .seconds(20), "the orphaned server stopped") { !running() }
        if running() { kill(pid, SIGKILL) }
        let output = try String(contentsOfFile: local.path("out"), encoding: .utf8)
        #expect(output.contains("the process that started this one is gone"), "\(output)")
    }

    @Test func copyNeedsExactlyOneRemoteSide() async throws {
        let result = try await DFSBinary.run(["cp", "a.txt", "b.txt"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("exactly one side must be in the cluster"))
        #expect(result.standardError.contains("HOST:PORT:PATH"))
    }

    @Test func unreachableEndpointSaysConnectionRefused() async throws {
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let port = reserved.port
        let result = try await DFSBinary.run(["ls", "--retry-for", "0", "127.0.0.1:\(port)"])
        #expect(result.status == 1)
        #expect(result.standardError == "dfs ls: cannot connect to 127.0.0.1:\(port): connection refused\n")
    }

    /// Every command that talks to a cluster keeps trying for `--retry-for` before it gives
    /// up, and says how long it tried.
    @Test func unreachableEndpointIsRetriedForAsLongAsAsked() async throws {
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let port = reserved.port
        let started = ContinuousClock.now
        let result = try await DFSBinary.run(["ls", "--retry-for", "1500ms", "127.0.0.1:\(port)"])
        let elapsed = ContinuousClock.now - started
        #expect(result.status == 1)
        #expect(elapsed >= .seconds(1), "\(elapsed)")
        #expect(result.standardError.hasPrefix("dfs ls: cannot connect to 127.0.0.1:\(port): connection refused (gave up after retrying for 1"))
        #expect(result.standardError.split(separator: "\n").count == 1, "no notice when standard error is not a terminal")
        for command in ["cp", "ls", "stat", "mkdir", "mv", "rm", "cat", "status", "fsck"] {
            let help = try await DFSBinary.run([command, "--help"])
            #expect(help.standardOutput.contains("--retry-for"), "dfs \(command) --help")
        }
        let invalid = try await DFSBinary.run(["ls", "--retry-for", "soon", "127.0.0.1:\(port)"])
        #expect(invalid.status != 0)
    }

    @Test func missingRemoteFileIsAnErrorAndLeavesNoLocalFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 1) { cluster in
            let result = try await DFSBinary.run(["cp", "127.0.0.1:\(cluster.metaEndpoint.port):/missing.txt", local.path("out.txt")])
            #expect(result.status == 1)
            #expect(result.standardError.contains("/missing.txt"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path).isEmpty)
        }
    }

    @Test func uploadWithNoDataNodeIsAClearError() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 10, seed: 1)
        try await withCluster(dataNodes: 0) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let result = try await DFSBinary.run(["cp", local.path("f"), "\(meta):f"])
            #expect(result.status == 1)
            #expect(result.standardError.contains("no data node"))
            let list = try await DFSBinary.run(["ls", meta])
            #expect(list.status == 0)
            #expect(list.standardOutput.isEmpty)
        }
    }

    @Test func badSizeIsRejectedBeforeAnythingHappens() async throws {
        let result = try await DFSBinary.run(["cp", "--block-size", "lots", "a", "127.0.0.1:1:b"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("block-size"))
    }

    @Test func pathWithDotDotIsRejected() async throws {
        let result = try await DFSBinary.run(["ls", "127.0.0.1:1:/a/../b"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("'..'"))
    }

    /// The four servers as separate processes, as an operator runs them.
    @Test func serversRunAsProcessesAndServeTheCommandLine() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("in", count: 3_000_000, seed: 33)
        let meta = try await ServerProcess(["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms"])
        defer { meta.kill() }
        var nodes: [ServerProcess] = []
        defer { nodes.forEach { $0.kill() } }
        for index in 0..<3 {
            nodes.append(
                try await ServerProcess([
                    "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data\(index)"),
                ]))
        }
        let endpoint = meta.endpoint.description
        // Nodes register in the background; an upload succeeds once one has.
        try await eventually(timeout: .seconds(20), "an upload through the process cluster") {
            try await DFSBinary.run(["cp", "--block-size", "1MiB", local.path("in"), "\(endpoint):/p/in"]).status == 0
        }
        let download = try await DFSBinary.run(["cp", "\(endpoint):/p/in", local.path("out")])
        #expect(download.status == 0, "\(download.standardError)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original)
    }

    /// As an operator would meet it: three node processes, a file at replication 3, one node
    /// killed with SIGKILL, a block file corrupted on another, and the copy that comes back is
    /// the file that went in, by SHA-256.
    @Test func fileSurvivesAKilledNodeAndACorruptReplica() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("in", count: 40 * 1024 * 1024 + 3, seed: 44)
        let meta = try await ServerProcess(["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms"])
        defer { meta.kill() }
        var nodes: [ServerProcess] = []
        defer { nodes.forEach { $0.kill() } }
        for index in 0..<3 {
            nodes.append(
                try await ServerProcess([
                    "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data\(index)"),
                ]))
        }
        let endpoint = meta.endpoint.description
        try await eventually(timeout: .seconds(20), "all three nodes registered") {
            let stat = try await DFSBinary.run(["cp", "--replication", "3", local.path("in"), "\(endpoint):/probe"])
            guard stat.status == 0 else { return false }
            let view = try JSONDecoder().decode(
                FileInfoJSON.self, from: Data(try await DFSBinary.run(["stat", "--json", "\(endpoint):/probe"]).standardOutput.utf8))
            return view.blocks?.allSatisfy { $0.replicas.count == 3 } == true
        }
        let upload = try await DFSBinary.run(["cp", "--replication", "3", "--block-size", "4MiB", "--sha256", local.path("in"), "\(endpoint):/data/big.bin"])
        #expect(upload.status == 0, "\(upload.standardError)")
        let statOutput = try await DFSBinary.run(["stat", "--json", "\(endpoint):/data/big.bin"])
        let view = try JSONDecoder().decode(FileInfoJSON.self, from: Data(statOutput.standardOutput.utf8))
        #expect(view.replication == 3)
        #expect(view.blocks?.count == 11)
        let recorded = try #require(view.sha256)

        // Kill node 0 outright; flip a byte in every block file of node 1.
        nodes[0].kill()
        let blocksFolder = URL(fileURLWithPath: local.path("data1/blocks"))
        var corrupted = 0
        for shard in try FileManager.default.contentsOfDirectory(atPath: blocksFolder.path) {
            let folder = blocksFolder.appendingPathComponent(shard)
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where !name.hasSuffix(".crc") {
                let file = folder.appendingPathComponent(name).path
                let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
                let handle = try #require(FileHandle(forUpdatingAtPath: file))
                try handle.seek(toOffset: UInt64(size / 2))
                let byte = try #require(try handle.read(upToCount: 1)?.first)
                try handle.seek(toOffset: UInt64(size / 2))
                try handle.write(contentsOf: Data([byte ^ 0x5A]))
                try handle.close()
                corrupted += 1
            }
        }
        #expect(corrupted >= 11)

        let download = try await DFSBinary.run(["cp", "\(endpoint):/data/big.bin", local.path("out.bin")])
        #expect(download.status == 0, "\(download.standardError)")
        let line = try await Subprocess.run("/usr/bin/sha256sum", [local.path("out.bin")]).standardOutput
        #expect(line.hasPrefix(recorded + " "))
        #expect(try Data(contentsOf: URL(fileURLWithPath: local.path("out.bin"))) == Data(contentsOf: URL(fileURLWithPath: local.path("in"))))
    }

    /// As an operator would meet it: four node processes, files at replication 3, one node
    /// killed with SIGKILL; `status` shows it dead and `fsck` goes from unhealthy to healthy
    /// by itself; a killed and restarted meta server still has every file.
    @Test func clusterHealsAfterANodeIsKilledAndSurvivesAMetaRestart() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        for index in 0..<3 { try local.writeRandomFile("f\(index)", count: 3 * 1024 * 1024 + index, seed: UInt64(60 + index)) }
        let metaArguments = { (port: Int) in
            ["serve-meta", "--host", "127.0.0.1", "--port", String(port), "--db", local.path("meta.db"), "--heartbeat", "200ms", "--dead-after", "2s"]
        }
        var meta = try await ServerProcess(metaArguments(0))
        defer { meta.kill() }
        var nodes: [ServerProcess] = []
        defer { nodes.forEach { $0.kill() } }
        for index in 0..<4 {
            nodes.append(
                try await ServerProcess([
                    "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data\(index)"),
                ]))
        }
        let endpoint = meta.endpoint.description
        struct Status: Decodable {
            struct Node: Decodable {
                var id: String
                var address: String
                var alive: Bool
            }
            var nodes: [Node]
        }
        func status() async throws -> Status {
            try JSONDecoder().decode(Status.self, from: Data(try await DFSBinary.run(["status", "--json", endpoint]).standardOutput.utf8))
        }
        try await eventually(timeout: .seconds(20), "four live nodes") { try await status().nodes.filter(\.alive).count == 4 }
        for index in 0..<3 {
            let upload = try await DFSBinary.run(["cp", "--replication", "3", "--block-size", "1MiB", local.path("f\(index)"), "\(endpoint):/set/f\(index)"])
            #expect(upload.status == 0, "\(upload.standardError)")
        }
        #expect(try await DFSBinary.run(["fsck", endpoint]).status == 0)

        let victim = try #require(try await status().nodes.first { $0.address == nodes[0].endpoint.description })
        nodes[0].kill()
        try await eventually(timeout: .seconds(20), "status shows the killed node dead") {
            try await status().nodes.contains { $0.id == victim.id && !$0.alive }
        }
        try await eventually(timeout: .seconds(30), "fsck healthy again") {
            try await DFSBinary.run(["fsck", endpoint]).status == 0
        }

        meta.kill()
        meta = try await ServerProcess(metaArguments(meta.endpoint.port))
        for index in 0..<3 {
            let download = try await DFSBinary.run(["cp", "\(endpoint):/set/f\(index)", local.path("out\(index)")])
            #expect(download.status == 0, "\(download.standardError)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: local.path("out\(index)"))) == Data(contentsOf: URL(fileURLWithPath: local.path("f\(index)"))))
        }
        try await eventually(timeout: .seconds(20), "the surviving nodes heartbeat to the new meta server") {
            try await status().nodes.filter(\.alive).count == 3
        }
        #expect(try await DFSBinary.run(["fsck", endpoint]).status == 0)
    }
}
