import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

@testable import DFSMeta

#if canImport(Glibc)
    import Glibc
#endif

extension MetaStore {
    /// A folder row written as an older version could: with a name it no longer accepts, or
    /// with a path, parent and name that disagree.
    func insertFolderRowAsStored(path: String, parent: String, name: String) throws(DFSError) {
        try database.run("INSERT INTO dirs(path, parent, name, mtime) VALUES(?, ?, ?, 1)", [.text(path), .text(parent), .text(name)])
    }
}

/// What `dfs cp -r` does with local entries it cannot store, and how names that could make
/// output lie are printed: through the built binary, as a user runs it.
@Suite struct NameCommandLineTests {
    /// Creates a local file whose path is given as bytes (a name need not be UTF-8).
    static func createFile(_ pathBytes: [UInt8], contents: String = "x") throws {
        let descriptor = (pathBytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY | O_TRUNC, 0o644) }
        }
        guard descriptor >= 0 else { throw DFSError(.ioError, "cannot create a test file: errno \(errno)") }
        _ = Array(contents.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    static func makeFolder(_ pathBytes: [UInt8]) throws {
        let status = (pathBytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { mkdir($0.baseAddress!, 0o755) }
        }
        guard status == 0 else { throw DFSError(.ioError, "cannot create a test folder: errno \(errno)") }
    }

    /// Every path under `path` in the cluster, from `dfs ls -R`.
    static func listing(_ meta: String, _ path: String) async throws -> [String] {
        let result = try await DFSBinary.run(["ls", "-R", "\(meta):\(path)"])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.split(separator: "\n").map(String.init)
    }

    @Test func nameThatIsNotUTF8IsRefusedByNameAndTheRestIsCopied() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = Array(local.path("tree").utf8)
        try FileManager.default.createDirectory(atPath: local.path("tree"), withIntermediateDirectories: true)
        try local.writeRandomFile("tree/ok.txt", count: 100, seed: 1)
        try Self.createFile(tree + Array("/caf".utf8) + [0xE9] + Array(".txt".utf8))
        try Self.makeFolder(tree + Array("/sub".utf8) + [0xFF])
        try Self.createFile(tree + Array("/sub".utf8) + [0xFF] + Array("/inner.txt".utf8))
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let result = try await DFSBinary.run(["cp", "-r", local.path("tree"), "\(meta):/t"])
            #expect(result.status == 1, "\(result.standardError)")
            #expect(result.standardError.contains(#"tree/caf\xe9.txt: its name is not valid UTF-8"#), "\(result.standardError)")
            #expect(result.standardError.contains(#"folder \#(local.path("tree"))/sub\xff or anything in it"#), "\(result.standardError)")
            #expect(result.standardError.contains("2 entries were not copied"), "\(result.standardError)")
            #expect(try await Self.listing(meta, "/t") == ["/t/ok.txt"])
        }
    }

    /// Symbolic links, dangling or not, relative or absolute, go in as links with their
    /// targets as they are, are listed as `name -> target`, and come back out as links; a
    /// FIFO is named and left out, and the exit status says so.
    @Test func linksAreCopiedAsLinksBothWaysAndFIFOsAreNamed() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try FileManager.default.createDirectory(atPath: local.path("tree/sub"), withIntermediateDirectories: true)
        try local.writeRandomFile("tree/file.txt", count: 1000, seed: 2)
        try local.writeRandomFile("tree/sub/deep.txt", count: 10, seed: 3)
        let links = [
            "relative-link": "file.txt", "absolute-link": local.path("tree/file.txt"), "dangling-link": "nowhere", "sub/up-link": "..",
        ]
        for (name, target) in links { #expect(symlink(target, local.path("tree/\(name)")) == 0) }
        #expect(mkfifo(local.path("tree/fifo"), 0o644) == 0)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let result = try await DFSBinary.run(["cp", "-r", local.path("tree"), "\(meta):/t"])
            #expect(result.status == 3, "\(result.standardError)")
            #expect(result.standardError.contains("skipping FIFO \(local.path("tree"))/fifo:"), "\(result.standardError)")
            #expect(!result.standardError.contains("symbolic link"), "\(result.standardError)")
            #expect(result.standardError.contains("1 special file was not copied"), "\(result.standardError)")
            #expect(
                try await Self.listing(meta, "/t") == [
                    "/t/absolute-link", "/t/dangling-link", "/t/file.txt", "/t/relative-link", "/t/sub/", "/t/sub/deep.txt", "/t/sub/up-link",
                ])
            for (name, target) in links {
                let found = try await cluster.client.stat(try DFSPath("/t/\(name)"))
                #expect(found.info.type == .link && found.info.target == target && found.info.size == target.utf8.count, "\(name)")
                #expect(found.blocks.isEmpty)
            }
            let long = try await DFSBinary.run(["ls", "-l", "\(meta):/t"])
            #expect(long.standardOutput.contains("lrwxrwxrwx  -:-  -"), "\(long.standardOutput)")
            #expect(long.standardOutput.contains("relative-link -> file.txt"), "\(long.standardOutput)")

            let back = try await DFSBinary.run(["cp", "-r", "\(meta):/t", local.path("back")])
            #expect(back.status == 0, "\(back.standardError)")
            for (name, target) in links {
                #expect(try FileSystem.linkTarget(local.path("back/\(name)")) == Array(target.utf8), "\(name)")
            }
            #expect(try FileSystem.contents(of: local.path("back/relative-link")) == FileSystem.contents(of: local.path("tree/file.txt")))

            let skipping = try await DFSBinary.run(["cp", "-r", "--skip-special", local.path("tree"), "\(meta):/t2"])
            #expect(skipping.status == 0, "\(skipping.standardError)")
            #expect(skipping.standardError.contains("warning: skipping FIFO \(local.path("tree"))/fifo"), "\(skipping.standardError)")
            #expect(!skipping.standardError.contains("were not copied"), "\(skipping.standardError)")
        }
    }

    /// `dfs chmod`, `dfs chown` and `dfs ln -s` set what `ls -l` and `stat` then show; bad
    /// modes and ids are refused before anything is sent.
    @Test func chmodChownAndLnSetWhatListingsShow() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("a.txt", count: 10, seed: 4)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            #expect(try await DFSBinary.run(["cp", local.path("a.txt"), "\(meta):/d/a.txt"]).status == 0)
            let chmod = try await DFSBinary.run(["chmod", "640", "\(meta):/d/a.txt"])
            #expect(chmod.status == 0, "\(chmod.standardError)")
            #expect(try await DFSBinary.run(["chown", "1000:50", "\(meta):/d/a.txt"]).status == 0)
            #expect(try await DFSBinary.run(["chmod", "1777", "\(meta):/d"]).status == 0)
            let link = try await DFSBinary.run(["ln", "-s", "a.txt", "\(meta):/d/b"])
            #expect(link.status == 0, "\(link.standardError)")
            let again = try await DFSBinary.run(["ln", "-s", "other", "\(meta):/d/b"])
            #expect(again.status == 1 && again.standardError.contains("exists"), "\(again.standardError)")
            #expect(try await DFSBinary.run(["ln", "-sf", "other", "\(meta):/d/b"]).status == 0)

            let long = try await DFSBinary.run(["ls", "-l", "\(meta):/d"])
            #expect(long.standardOutput.contains("-rw-r-----  1000:50  3"), "\(long.standardOutput)")
            #expect(long.standardOutput.contains("lrwxrwxrwx  -:-  -") && long.standardOutput.contains("b -> other"), "\(long.standardOutput)")
            let root = try await DFSBinary.run(["ls", "-l", "\(meta):/"])
            #expect(root.standardOutput.contains("drwxrwxrwt"), "\(root.standardOutput)")
            let stat = try await DFSBinary.run(["stat", "\(meta):/d/b"])
            #expect(stat.standardOutput.contains("type:         link") && stat.standardOutput.contains("target:       other"), "\(stat.standardOutput)")

            for bad in [["chmod", "9", "\(meta):/d"], ["chmod", "17777", "\(meta):/d"], ["chown", "x:y", "\(meta):/d"], ["chown", ":", "\(meta):/d"]] {
                let refused = try await DFSBinary.run(bad)
                #expect(refused.status == 1, "\(bad): \(refused.standardError)")
            }
            let missing = try await DFSBinary.run(["chmod", "600", "\(meta):/nothing"])
            #expect(missing.status == 1 && missing.standardError.contains("no such file or folder"), "\(missing.standardError)")
        }
    }

    /// A FIFO named alone (no -r) used to be opened for reading, which waits for a writer
    /// that never comes: the copy hung. It is refused at once, and so is a device.
    @Test func fifoOrDeviceNamedAloneIsRefusedAtOnce() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        #expect(mkfifo(local.path("fifo"), 0o644) == 0)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            for source in [local.path("fifo"), "/dev/null"] {
                let result = try await DFSBinary.run(["cp", source, "\(meta):/x"], timeout: .seconds(20))
                #expect(result.status == 1, "\(source): \(result.standardError)")
                #expect(result.standardError.contains("is not a regular file"), "\(source): \(result.standardError)")
            }
            await #expect(throws: DFSError.self) { try await cluster.client.stat(try DFSPath("/x")) }
        }
    }

    @Test func copyHelpDocumentsTheExitStatuses() async throws {
        let help = try await DFSBinary.run(["cp", "--help"])
        #expect(help.standardOutput.contains("--skip-special"))
        #expect(help.standardOutput.contains("Exit status"))
        #expect(help.standardOutput.contains("3 when all but special files were copied"), "\(help.standardOutput)")
    }

    @Test func localNameWithABidirectionalControlIsRefusedAndShownEscaped() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try FileManager.default.createDirectory(atPath: local.path("tree"), withIntermediateDirectories: true)
        try local.writeRandomFile("tree/ok.txt", count: 10, seed: 4)
        try local.writeRandomFile("tree/photo\u{202E}gpj.exe", count: 10, seed: 5)
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let result = try await DFSBinary.run(["cp", "-r", local.path("tree"), "\(meta):/t"])
            #expect(result.status == 1, "\(result.standardError)")
            #expect(result.standardError.contains(#"photo\u{202E}gpj.exe"#), "\(result.standardError)")
            #expect(result.standardError.contains("U+202E RIGHT-TO-LEFT OVERRIDE"), "\(result.standardError)")
            #expect(!result.standardError.unicodeScalars.contains("\u{202E}"))
            #expect(try await Self.listing(meta, "/t") == ["/t/ok.txt"])
            // One file on its own is refused by the meta server, with the same message.
            let single = try await DFSBinary.run(["cp", local.path("tree/photo\u{202E}gpj.exe"), "\(meta):/single\u{202E}x"])
            #expect(single.status == 1)
            #expect(single.standardError.contains("U+202E"), "\(single.standardError)")
            #expect(!single.standardError.unicodeScalars.contains("\u{202E}"))
        }
    }

    @Test func storedNamesThatCouldLieArePrintedEscaped() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await cluster.meta.service.store.insertFolderRowAsStored(path: "/photo\u{202E}gpj.exe", parent: "/", name: "photo\u{202E}gpj.exe")
            let list = try await DFSBinary.run(["ls", meta])
            #expect(list.status == 0, "\(list.standardError)")
            #expect(list.standardOutput == "photo\\u{202E}gpj.exe/\n", "\(list.standardOutput)")
            let long = try await DFSBinary.run(["ls", "-lR", meta])
            #expect(long.standardOutput.contains("/photo\\u{202E}gpj.exe/"), "\(long.standardOutput)")
            let json = try await DFSBinary.run(["ls", "--json", meta])
            #expect(!json.standardOutput.unicodeScalars.contains("\u{202E}"))
            #expect(json.standardOutput.contains("\\u202e"), "\(json.standardOutput)")
            // The JSON still decodes to the stored name.
            let entries = try JSONDecoder().decode([FileInfoJSON].self, from: Data(json.standardOutput.utf8))
            #expect(entries.map { Array($0.path.utf8) }.contains(Array("/photo\u{202E}gpj.exe".utf8)))
            let stat = try await DFSBinary.run(["stat", "\(meta):/photo\u{202E}gpj.exe"])
            #expect(stat.status == 0, "\(stat.standardError)")
            #expect(stat.standardOutput.contains("path:         /photo\\u{202E}gpj.exe"), "\(stat.standardOutput)")
            #expect(!stat.standardOutput.unicodeScalars.contains("\u{202E}"))
            // And it can be renamed to a clean name.
            let move = try await DFSBinary.run(["mv", "\(meta):/photo\u{202E}gpj.exe", "\(meta):/renamed"])
            #expect(move.status == 0, "\(move.standardError)")
            #expect(try await Self.listing(meta, "/") == ["/renamed/"])
        }
    }

    @Test func fsckNamesRowsWhosePathParentAndNameDisagree() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let healthy = try await DFSBinary.run(["fsck", meta])
            #expect(healthy.status == 0, "\(healthy.standardOutput)")
            // What `mkdir dfs:/x/<U+0301>y` stored when paths were split on characters.
            try await cluster.meta.service.store.insertFolderRowAsStored(path: "/x/\u{301}y", parent: "/", name: "x/\u{301}y")
            // A name no path may hold (a hand edit): it cannot be listed, so fsck must name it.
            try await cluster.meta.service.store.insertFolderRowAsStored(path: "/two\nlines", parent: "/", name: "two\nlines")
            let fsck = try await DFSBinary.run(["fsck", meta])
            #expect(fsck.status == 1, "\(fsck.standardOutput)")
            #expect(fsck.standardOutput.contains("folder row: its path puts it in /x"), "\(fsck.standardOutput)")
            #expect(fsck.standardOutput.contains("/two\\nlines: folder row: its path is not a valid path"), "\(fsck.standardOutput)")
            #expect(fsck.standardOutput.contains("rows whose path, parent and name disagree: 2"), "\(fsck.standardOutput)")
            #expect(fsck.standardOutput.contains("UNHEALTHY"))
            let json = try await DFSBinary.run(["fsck", "--json", meta])
            #expect(json.status == 1)
            #expect(json.standardOutput.contains(#""pathProblems":{"count":2"#), "\(json.standardOutput)")
            #expect(json.standardOutput.contains(#""healthy":false"#))
        }
    }
}
