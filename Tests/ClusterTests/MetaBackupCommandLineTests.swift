import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// `dfs meta-backup` run as a user would, against a meta server process.
@Suite struct MetaBackupCommandLineTests {
    /// A backup written by the command is served as it is by `dfs serve-meta --db`; the
    /// command refuses to replace a file unless told to, and takes the server from DFS_META.
    @Test func backupIsServedAsItIsAndIsNotOverwrittenWithoutForce() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let meta = try await ServerProcess([
            "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms",
        ])
        defer { meta.kill() }
        let node = try await ServerProcess([
            "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data"),
        ])
        defer { node.kill() }
        let first = try local.writeRandomFile("first", count: 150_000, seed: 71)
        try local.writeRandomFile("second", count: 10, seed: 72)
        try await eventually(timeout: .seconds(20), "the node registered and an upload works") {
            try await DFSBinary.run(["cp", "--replication", "1", local.path("first"), "\(meta.endpoint):/docs/first"]).status == 0
        }
        let upload = try await DFSBinary.run(["cp", "--replication", "1", local.path("second"), "\(meta.endpoint):/docs/second"])
        #expect(upload.status == 0, "\(upload.standardError)")

        let backup = local.path("backup.db")
        let made = try await DFSBinary.run(["meta-backup", meta.endpoint.description, backup])
        #expect(made.status == 0, "\(made.standardError)")
        let lines = made.standardOutput.split(separator: "\n")
        #expect(lines.count == 1, "\(made.standardOutput)")
        let size = try FileSystem.status(backup).size
        #expect(made.standardOutput.hasPrefix("backed up \(meta.endpoint) to \(backup): "), "\(made.standardOutput)")
        #expect(made.standardOutput.contains("(\(size) bytes), 2 files"), "\(made.standardOutput)")
        #expect(try FileSystem.contentsOfFolder(local.url.path).filter { $0.hasSuffix(".tmp") }.isEmpty)

        let again = try await DFSBinary.run(["meta-backup", meta.endpoint.description, backup])
        #expect(again.status == 1)
        #expect(again.standardError == "dfs meta-backup: \(backup) exists already; pass --force to replace it\n")
        #expect(again.standardOutput.isEmpty)
        let forced = try await DFSBinary.run(["meta-backup", "--force", backup], environment: ["DFS_META": meta.endpoint.description])
        #expect(forced.status == 0, "\(forced.standardError)")
        #expect(forced.standardOutput.contains("2 files"))

        // The backup, served as it is by a second meta server.
        let restored = try await ServerProcess(["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", backup])
        defer { restored.kill() }
        let listed = try await DFSBinary.run(["ls", "-l", "\(restored.endpoint):/docs"])
        #expect(listed.status == 0, "\(listed.standardError)")
        #expect(listed.standardOutput.contains("first") && listed.standardOutput.contains("150000"), "\(listed.standardOutput)")
        #expect(listed.standardOutput.contains("second"), "\(listed.standardOutput)")
        // Its blocks are still on the node, which the old meta server knows: read through it.
        let download = try await DFSBinary.run(["cp", "\(meta.endpoint):/docs/first", local.path("back")])
        #expect(download.status == 0, "\(download.standardError)")
        #expect(try FileSystem.contents(of: local.path("back")) == first)
    }

    @Test func unreachableServerIsOneLineAndLeavesNoFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let result = try await DFSBinary.run(["meta-backup", "--retry-for", "0", "127.0.0.1:\(reserved.port)", local.path("backup.db")])
        #expect(result.status == 1)
        #expect(result.standardError == "dfs meta-backup: cannot connect to 127.0.0.1:\(reserved.port): connection refused\n")
        #expect(try FileSystem.contentsOfFolder(local.url.path).isEmpty)
        let unnamed = try await DFSBinary.run(["meta-backup", local.path("backup.db")], environment: ["DFS_META": ""])
        #expect(unnamed.status != 0)
    }
}
