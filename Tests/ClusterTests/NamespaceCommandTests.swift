import DFSClient
import DFSCore
import DFSTesting
import Foundation
import Testing

/// Folders, trees, mv, rm, cat, stat and ls output through the built binary, as a user runs them.
@Suite struct NamespaceCommandTests {
    /// Writes a tree of 45 files in nested folders (some empty, one of several blocks, one of
    /// zero bytes) plus an empty folder, and returns the relative paths of the files.
    @discardableResult
    static func writeTree(in folder: TempFolder, _ name: String) throws -> [String] {
        var files: [String] = []
        let manager = FileManager.default
        for top in 0..<3 {
            for sub in 0..<3 {
                try manager.createDirectory(atPath: folder.path("\(name)/dir\(top)/sub\(sub)"), withIntermediateDirectories: true)
                for index in 0..<5 {
                    let relative = "dir\(top)/sub\(sub)/file\(index).txt"
                    let size = (top * 15 + sub * 5 + index) * 997
                    try folder.writeRandomFile("\(name)/\(relative)", count: size, seed: UInt64(top * 100 + sub * 10 + index))
                    files.append(relative)
                }
            }
        }
        try folder.writeRandomFile("\(name)/big.bin", count: 3 * 1024 * 1024 + 17, seed: 99)
        files.append("big.bin")
        try manager.createDirectory(atPath: folder.path("\(name)/empty/deeper"), withIntermediateDirectories: true)
        return files
    }

    /// `diff -r` of two local folders: its exit status and output.
    static func diff(_ first: String, _ second: String) async throws -> (status: Int32, output: String) {
        let result = try await Subprocess.run("/usr/bin/diff", ["-r", first, second])
        return (result.status, result.standardOutput + result.standardError)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> DFSBinary.Result {
        try await DFSBinary.run(arguments, environment: environment)
    }

    @Test func treeRoundTripsIdenticalWithCopyRecursive() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let files = try Self.writeTree(in: local, "project")
        #expect(files.count >= 40)
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            // The target does not exist: it becomes the copy.
            let upload = try await Self.run(["cp", "-r", "--block-size", "1MiB", local.path("project"), "\(meta):/backup/project"])
            #expect(upload.status == 0, "\(upload.standardError)")
            #expect(upload.standardError.isEmpty, "no progress line on a pipe: \(upload.standardError)")
            let listed = try await Self.run(["ls", "-R", "\(meta):/backup/project"])
            let paths = Set(listed.standardOutput.split(separator: "\n").map(String.init))
            for file in files { #expect(paths.contains("/backup/project/\(file)"), "\(file) listed") }
            #expect(paths.contains("/backup/project/empty/deeper/"))
            // Out again, into a folder that does not exist yet.
            let download = try await Self.run(["cp", "-r", "\(meta):/backup/project", local.path("restored")])
            #expect(download.status == 0, "\(download.standardError)")
            let difference = try await Self.diff(local.path("project"), local.path("restored"))
            #expect(difference.status == 0, "\(difference.output)")
            // Onto an existing folder, the tree goes inside it, as cp -r does.
            try FileManager.default.createDirectory(atPath: local.path("into"), withIntermediateDirectories: true)
            let into = try await Self.run(["cp", "-r", "\(meta):/backup/project", local.path("into")])
            #expect(into.status == 0, "\(into.standardError)")
            #expect(try await Self.diff(local.path("project"), local.path("into/project")).status == 0)
        }
    }

    @Test func copyRecursiveWithNoClobberKeepsExistingFiles() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try Self.writeTree(in: local, "tree")
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await Self.run(["cp", "-r", "--replication", "1", local.path("tree"), "\(meta):/t"]).status == 0)
            let original = try #require(try await cluster.client.stat(try DFSPath("/t/dir0/sub0/file1.txt")).info.crc32c)
            try local.writeRandomFile("tree/dir0/sub0/file1.txt", count: 123, seed: 1234)
            try local.writeRandomFile("tree/added.txt", count: 10, seed: 5)
            let again = try await Self.run(["cp", "-r", "-n", "-v", local.path("tree"), "\(meta):/t"])
            #expect(again.status == 0, "\(again.standardError)")
            // Onto an existing folder: inside it.
            #expect(try await cluster.client.stat(try DFSPath("/t/tree/added.txt")).info.size == 10)
            let intoSame = try await Self.run(["cp", "-r", "-n", "-v", local.path("tree") + "/", "\(meta):/t/"])
            #expect(intoSame.status == 0)
            #expect(try await cluster.client.stat(try DFSPath("/t/dir0/sub0/file1.txt")).info.crc32c == original)
            #expect(intoSame.standardOutput.contains("skipped"), "\(intoSame.standardOutput)")
            // Without -n the file is replaced.
            let file = try await Self.run(["cp", local.path("tree/dir0/sub0/file1.txt"), "\(meta):/t/dir0/sub0/file1.txt"])
            #expect(file.status == 0)
            #expect(try await cluster.client.stat(try DFSPath("/t/dir0/sub0/file1.txt")).info.size == 123)
        }
    }

    @Test func verboseListsEachFileAndQuietDrawsNothing() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try Self.writeTree(in: local, "tree")
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let verbose = try await Self.run(["cp", "-r", "-v", "--replication", "1", local.path("tree"), "\(meta):/v"])
            #expect(verbose.status == 0)
            #expect(verbose.standardOutput.contains("\(local.path("tree/big.bin")) -> /v/big.bin"))
            #expect(verbose.standardOutput.contains("46 files"))
            let quiet = try await Self.run(["cp", "--quiet", "\(meta):/v/big.bin", local.path("big.copy")])
            #expect(quiet.status == 0)
            #expect(quiet.standardOutput.isEmpty && quiet.standardError.isEmpty)
        }
    }

    @Test func copyingAFileOntoAFolderPutsItInside() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("notes.txt", count: 5000, seed: 3)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await Self.run(["mkdir", "\(meta):/docs"]).status == 0)
            #expect(try await Self.run(["cp", "--replication", "1", local.path("notes.txt"), "\(meta):/docs"]).status == 0)
            #expect(try await cluster.client.stat(try DFSPath("/docs/notes.txt")).info.size == 5000)
            try FileManager.default.createDirectory(atPath: local.path("down"), withIntermediateDirectories: true)
            #expect(try await Self.run(["cp", "\(meta):/docs/notes.txt", local.path("down")]).status == 0)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("down/notes.txt")))) == bytes)
        }
    }

    @Test func mkdirMvRmAndCatBehaveAsTheirUnixNamesakes() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("a.bin", count: 2 * 1024 * 1024 + 3, seed: 8)
        try await withCluster(dataNodes: 2) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let mkdir = try await Self.run(["mkdir", "\(meta):/x/y/z", "\(meta):/other"])
            #expect(mkdir.status == 0, "\(mkdir.standardError)")
            #expect(try await cluster.client.stat(try DFSPath("/x/y/z")).info.type == .dir)
            #expect(try await Self.run(["mkdir", "-p", "\(meta):/x/y"]).status == 0, "an existing folder is fine")
            #expect(try await Self.run(["cp", "--block-size", "1MiB", local.path("a.bin"), "\(meta):/x/y/z/a.bin"]).status == 0)

            // cat streams the bytes exactly.
            let raw = try await Self.catBytes(meta: meta, path: "/x/y/z/a.bin")
            #expect(raw == bytes)

            // mv renames a folder with everything in it; no block changes hands.
            let blocksBefore = try await cluster.client.stat(try DFSPath("/x/y/z/a.bin")).blocks.map(\.blockID)
            #expect(try await Self.run(["mv", "\(meta):/x/y", "\(meta):/moved"]).status == 0)
            #expect(try await cluster.client.stat(try DFSPath("/moved/z/a.bin")).blocks.map(\.blockID) == blocksBefore)
            let gone = try await Self.run(["stat", "\(meta):/x/y"])
            #expect(gone.status == 1)
            #expect(gone.standardError == "dfs stat: no such file or folder: /x/y\n")
            // Onto an existing folder: inside it.
            #expect(try await Self.run(["mv", "\(meta):/moved", "\(meta):/other"]).status == 0)
            #expect(try await cluster.client.stat(try DFSPath("/other/moved/z/a.bin")).info.size == bytes.count)
            // Onto an existing file: replaces it.
            try local.writeRandomFile("small", count: 10, seed: 9)
            #expect(try await Self.run(["cp", local.path("small"), "\(meta):/small"]).status == 0)
            #expect(try await Self.run(["mv", "\(meta):/small", "\(meta):/other/moved/z/a.bin"]).status == 0)
            #expect(try await cluster.client.stat(try DFSPath("/other/moved/z/a.bin")).info.size == 10)

            // rm: a file; a non-empty folder needs -r; -r removes the tree.
            let notEmpty = try await Self.run(["rm", "\(meta):/other"])
            #expect(notEmpty.status == 1)
            #expect(notEmpty.standardError.contains("folder not empty: /other"))
            #expect(try await Self.run(["rm", "\(meta):/other/moved/z/a.bin"]).status == 0)
            #expect(try await Self.run(["rm", "-r", "\(meta):/other"]).status == 0)
            let root = try await Self.run(["ls", "\(meta)"])
            #expect(root.standardOutput == "x/\n")
            let missing = try await Self.run(["rm", "\(meta):/nope"])
            #expect(missing.status == 1)
            #expect(missing.standardError.contains("/nope"))
            #expect(try await Self.run(["rm", "-f", "\(meta):/nope"]).status == 0)
            // The removed files' blocks leave the nodes.
            try await eventually(timeout: .seconds(20), "removed blocks deleted on the nodes") {
                cluster.dataServers.compactMap { $0?.store.blockCount }.reduce(0, +) == 0
            }
        }
    }

    /// `dfs cat` into a pipe, read whole, as raw bytes.
    static func catBytes(meta: String, path: String) async throws -> [UInt8] {
        let copy = "\(NSTemporaryDirectory())/dfs-cat-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let result = try await Subprocess.run("/bin/sh", ["-c", "'\(DFSBinary.path)' cat \(meta):\(path) > '\(copy)'"])
        #expect(result.status == 0, "\(result.standardError)")
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: copy)))
    }

    @Test func catIntoAReaderThatStopsEarlyEndsQuietly() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("big", count: 4 * 1024 * 1024, seed: 10)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await Self.run(["cp", "--replication", "1", local.path("big"), "\(meta):/big"]).status == 0)
            for _ in 0..<3 { #expect(try await Self.run(["cp", "--replication", "1", local.path("big"), "\(meta):/dir/f\(UUID().uuidString)"]).status == 0) }
            for command in ["'\(DFSBinary.path)' cat \(meta):/big | head -c 100", "'\(DFSBinary.path)' ls -R \(meta) | head -n 1"] {
                let result = try await Subprocess.run("/bin/sh", ["-c", command + " > /dev/null"])
                #expect(result.status == 0)
                #expect(result.standardError.isEmpty, "\(command): \(result.standardError)")
            }
        }
    }

    @Test func lsJSONParsesAndMatchesTheNamespace() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try Self.writeTree(in: local, "tree")
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await Self.run(["cp", "-r", "--sha256", "--replication", "1", local.path("tree"), "\(meta):/t"]).status == 0)
            let result = try await Self.run(["ls", "--json", "\(meta):/t/dir1/sub2"])
            #expect(result.status == 0)
            let entries = try JSONDecoder().decode([FileInfoJSON].self, from: Data(result.standardOutput.utf8))
            let expected = try await cluster.client.list(try DFSPath("/t/dir1/sub2")).entries
            #expect(entries.map(\.path) == expected.map(\.path.string))
            #expect(entries.map(\.size) == expected.map(\.size))
            #expect(entries.allSatisfy { $0.type == "file" && $0.replication == 1 && $0.sha256?.count == 64 && $0.mtime > 0 })
            #expect(entries.map(\.crc32c) == expected.map(\.crc32c))
            #expect(entries.allSatisfy { $0.crc32c != nil })

            let recursive = try await Self.run(["ls", "--json", "-R", "\(meta):/t"])
            let all = try JSONDecoder().decode([FileInfoJSON].self, from: Data(recursive.standardOutput.utf8))
            #expect(all.filter { $0.type == "file" }.count == 46)
            #expect(all.contains { $0.path == "/t/empty/deeper" && $0.type == "dir" && $0.replication == 0 })

            let empty = try await Self.run(["ls", "--json", "\(meta):/t/empty/deeper"])
            #expect(try JSONDecoder().decode([FileInfoJSON].self, from: Data(empty.standardOutput.utf8)).isEmpty)

            let long = try await Self.run(["ls", "-lh", "\(meta):/t"])
            #expect(long.standardOutput.contains("3.0 MiB"), "\(long.standardOutput)")
            #expect(long.standardOutput.contains("drwxr-xr-x  -:-  -"))
            #expect(long.standardOutput.contains("big.bin"))
        }
    }

    /// More entries than one reply carries: the listing arrives in pages, in name order.
    @Test func largeFolderListsCompletelyAcrossPages() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let count = 2 * Limits.listEntriesMax + 150
            let names = (0..<count).map { String(format: "entry-%05d", $0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for slice in stride(from: 0, to: count, by: count / 8 + 1) {
                    group.addTask {
                        for name in names[slice..<min(count, slice + count / 8 + 1)] {
                            try await cluster.client.makeDirectory(try DFSPath("/big/\(name)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let result = try await Self.run(["ls", "\(meta):/big"])
            #expect(result.status == 0)
            #expect(result.standardOutput.split(separator: "\n").map(String.init) == names.map { $0 + "/" })
            let json = try await Self.run(["ls", "--json", "\(meta):/big"])
            let decoded = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
            #expect(decoded?.count == count)
        }
    }

    @Test func statShowsTypeSizeBlocksAndJSON() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("f", count: 2 * 1024 * 1024 + 1, seed: 11)
        try await withCluster(dataNodes: 2) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await Self.run(["cp", "--block-size", "1MiB", "--replication", "2", local.path("f"), "\(meta):/d/f"]).status == 0)
            let text = try await Self.run(["stat", "\(meta):/d/f"])
            #expect(text.standardOutput.contains("type:         file"))
            #expect(text.standardOutput.contains("blocks:       3"))
            #expect(text.standardOutput.contains("crc32c:       \(Hex.crc32c(CRC32C.checksum(bytes)))"), "\(text.standardOutput)")
            #expect(text.standardOutput.contains("sha256:       -"))
            // --sha256 is for uploads, --verify for downloads; the other way round is refused.
            let misplaced = try await Self.run(["cp", "--sha256", "\(meta):/d/f", local.path("back")])
            #expect(misplaced.status != 0 && misplaced.standardError.contains("--verify"), "\(misplaced.standardError)")
            let verifiedUpload = try await Self.run(["cp", "--verify", local.path("f"), "\(meta):/d/g"])
            #expect(verifiedUpload.status != 0 && verifiedUpload.standardError.contains("--verify checks downloads"))
            #expect(!FileManager.default.fileExists(atPath: local.path("back")))
            let json = try await Self.run(["stat", "--json", "\(meta):/d/f"])
            let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            #expect(object?["path"] as? String == "/d/f")
            #expect(object?["type"] as? String == "file")
            #expect(object?["size"] as? Int == 2 * 1024 * 1024 + 1)
            #expect((object?["crc32c"] as? NSNumber)?.uint32Value == CRC32C.checksum(bytes))
            let blocks = object?["blocks"] as? [[String: Any]]
            #expect(blocks?.count == 3)
            #expect(blocks?.allSatisfy { ($0["replicas"] as? [String])?.count == 2 } == true)
            let folder = try await Self.run(["stat", "--json", "\(meta):/d"])
            let folderObject = try JSONSerialization.jsonObject(with: Data(folder.standardOutput.utf8)) as? [String: Any]
            #expect(folderObject?["type"] as? String == "dir")
        }
    }

    @Test func errorsNameThePathAndExitNonZero() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 10, seed: 12)
        try FileManager.default.createDirectory(atPath: local.path("folder"), withIntermediateDirectories: true)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await Self.run(["cp", "--replication", "1", local.path("f"), "\(meta):/file"]).status == 0)
            let cases: [([String], String)] = [
                (["ls", "\(meta):/nope"], "dfs ls: no such file or folder: /nope"),
                (["cat", "\(meta):/nope"], "dfs cat: no such file or folder: /nope"),
                (["mv", "\(meta):/nope", "\(meta):/x"], "dfs mv: no such file or folder: /nope"),
                (["mkdir", "\(meta):/file/sub"], "dfs mkdir: /file is a file"),
                (["cp", local.path("f"), "\(meta):/file/sub"], "/file is a file"),
                (["cat", "\(meta):/"], "is a folder"),
                (["cp", "-n", local.path("f"), "\(meta):/file"], "dfs cp: /file exists and -n was given"),
                (["cp", local.path("folder"), "\(meta):/folder"], "is a folder; copy it with cp -r"),
                (["cp", "\(meta):/", local.path("out")], "is a folder; copy it with cp -r"),
                (["cp", local.path("missing"), "\(meta):/m"], "no such local file or folder"),
                (["ls", "\(meta):/a/../b"], "'..'"),
                (["mv", "\(meta):/", "\(meta):/x"], "cannot be moved"),
                (["rm", "-r", "\(meta):/"], "cannot be removed"),
                (["mv", "\(meta):/file", "127.0.0.1:1:/x"], "different clusters"),
                (["ls", "dfs:/"], "DFS_META"),
            ]
            for (arguments, message) in cases {
                let result = try await Self.run(arguments)
                #expect(result.status != 0, "\(arguments)")
                #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
                #expect(!result.standardError.contains("crashed"), "\(arguments)")
            }
        }
    }

    @Test func shortPathsUseDFSMeta() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("f", count: 1000, seed: 13)
        try await withCluster(dataNodes: 1) { cluster in
            let environment = ["DFS_META": "127.0.0.1:\(cluster.metaEndpoint.port)"]
            #expect(try await Self.run(["mkdir", "dfs:/s"], environment: environment).status == 0)
            #expect(try await Self.run(["cp", "--replication", "1", local.path("f"), "dfs:/s/f"], environment: environment).status == 0)
            let list = try await Self.run(["ls", "dfs:/s"], environment: environment)
            #expect(list.standardOutput == "f\n")
            #expect(try await Self.run(["cp", "dfs:/s/f", local.path("back")], environment: environment).status == 0)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == bytes)
            let status = try await Self.run(["status", "--json"], environment: environment)
            #expect(status.status == 0)
            #expect(status.standardOutput.contains("\"nodes\""))
        }
    }

    /// `dfs bench` end to end, small: a cluster of processes, every measure, a table, JSON;
    /// with PostgreSQL installed, its throwaway server and the PostgreSQL store's rows.
    @Test func benchRunsEndToEndAndPrintsItsTable() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let result = try await DFSBinary.run(
            ["bench", "--quick", "--size", "4MiB", "--files", "40", "--big-size", "8MiB", "--dir", local.url.path, "--json", local.path("bench.json")],
            timeout: .seconds(120))
        #expect(result.status == 0, "\(result.standardError)")
        let postgresMeasures =
            PostgresTestServer.isInstalled
            ? [
                "PostgreSQL store: cp -r in of 40 × 4 KiB files", "PostgreSQL store: stat of 40 files, one caller",
                "PostgreSQL store: stat of 40 files, 16 callers at once", "PostgreSQL store: ls -l of 40 files",
                "PostgreSQL store rows: PostgreSQL ", "fsync on",
            ] : ["PostgreSQL store rows skipped: PostgreSQL's server programs are not installed"]
        let mountMeasures =
            TestMount.available
            ? [
                "mount: write 4.0 MiB (dd conv=fsync), R=1", "mount: read 4.0 MiB (dd)", "mount: create 40 × 4 KiB (cp -r, close waits)",
                "mount: ls -l of 40 files", "mount: stat of 40 files", "mount: create 40 × 4 KiB (cp -r, --writeback, until all uploaded)",
                "peak memory of the mount process",
            ] : ["mount rows skipped"]
        for measure in [
            "write 4.0 MiB, R=1", "write 4.0 MiB, R=3", "write 4.0 MiB, R=1, with --sha256", "read 4.0 MiB", "create 40 × 4 KiB",
            "read 40 × 4 KiB (cp -r out)", "ls -l of 40 files",
            "stat of 40 files (client library)", "stat of 40 files, 16 callers at once", "small files: write 40 × 1.0 KiB by 16 clients, R=1",
            "small files: read 40 × 1.0 KiB by 16 clients, random order: latency p99", "peak memory",
            "CPU per GiB written, R=1 (client and nodes)", "CPU per GiB written, R=3 (client and nodes)", "CPU per GiB read (client and nodes)",
            "with a secret (TLS): write", "with a secret (TLS): read", "with a secret (TLS): create 40 × 4 KiB", "with a secret (TLS): read 40 × 4 KiB",
        ] + postgresMeasures + mountMeasures {
            #expect(result.standardOutput.contains(measure), "\(measure) in the table")
        }
        #expect(result.standardOutput.contains("dd conv=fsync"))
        struct Report: Decodable {
            struct Line: Decodable {
                var name: String
                var value: Double
            }
            var results: [Line]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: local.path("bench.json"))))
        #expect(report.results.count == 26 + (PostgresTestServer.isInstalled ? 4 : 0) + (TestMount.available ? 7 : 0))
        #expect(report.results.allSatisfy { $0.value > 0 })
        // It cleaned up after itself: only the JSON is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path) == ["bench.json"])
    }

    /// The PostgreSQL options go with the full run, and a `--postgres` that is not a URI is
    /// refused before anything starts.
    @Test func benchChecksItsPostgresOptions() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let cases: [([String], String)] = [
            (["--postgres", "postgres://u@127.0.0.1:1/d", "--no-postgres"], "give one of them"),
            (["--postgres", "bench.db"], "--postgres: not a PostgreSQL URI"),
            (["--small", "--no-postgres"], "go with the full run"),
            (["--scale", "--postgres", "postgres://u@127.0.0.1:1/d"], "go with the full run"),
        ]
        for (arguments, message) in cases {
            let result = try await DFSBinary.run(["bench", "--dir", local.url.path] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path).isEmpty)
    }

    /// A run the disk cannot hold is refused before it starts, with what it needs and has.
    @Test func benchWithoutRoomForItsFilesStopsBeforeStarting() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let result = try await DFSBinary.run(
            ["bench", "--quick", "--files", "10", "--big-size", "1000000TiB", "--dir", local.url.path], timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(result.standardError.contains("free; use --dir elsewhere"), "\(result.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path).isEmpty)
    }

    /// `dfs bench --scale`, small: two imported namespaces, each served by a meta server
    /// process, listed, stat'ed, asked for its status and watched idle with its repair loop
    /// running; a table, JSON, and nothing left behind.
    @Test func scaleBenchRunsEndToEnd() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let result = try await DFSBinary.run(
            ["bench", "--scale", "--scale-files", "10000", "--dir", local.url.path, "--json", local.path("scale.json")],
            timeout: .seconds(120))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("list with details, per entry: 1000-entry folder, 10000 files"))
        #expect(result.standardOutput.contains("stat, 10000 files"))
        #expect(result.standardOutput.contains("status, 10000 blocks"))
        #expect(result.standardOutput.contains("repair loop CPU per second"))
        struct Line: Decodable {
            var value: Double
            var baseline: Double
        }
        let lines = try JSONDecoder().decode([Line].self, from: Data(contentsOf: URL(fileURLWithPath: local.path("scale.json"))))
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.value > 0 && $0.baseline > 0 })
        #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path) == ["scale.json"])
    }

    @Test func everySubcommandHelpHasAnExample() async throws {
        for command in ["cp", "ls", "mkdir", "mv", "rm", "cat", "stat", "status", "fsck", "serve-meta", "serve-data", "local-cluster", "bench"] {
            let help = try await Self.run([command, "--help"])
            #expect(help.status == 0, "\(command)")
            #expect(help.standardOutput.contains("dfs \(command) "), "\(command) --help shows an example")
        }
        for shell in ["bash", "zsh", "fish"] {
            let script = try await Self.run(["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.standardOutput.contains("mkdir"), "\(shell) completion knows the subcommands")
        }
    }
}
