import DFSCore
import DFSSystem
import Foundation
import SystemPackage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The file calls: loops that finish short reads and writes, errors that name the call, the
/// errno and the path, and renames that reach the disk.
@Suite struct FileCallTests {
    /// A fresh folder under the temp folder, removed by the caller.
    static func makeFolder() throws -> String {
        let path = NSTemporaryDirectory() + "dfs-system-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.makeFolder(path)
        return path
    }

    /// A pipe holds 64 KiB, so a read of a whole MiB through one is necessarily short many
    /// times: the exact read and the write must both loop to the end.
    @Test func shortReadsAndWritesThroughAPipeAreContinued() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let reader = OpenFile(adopting: ends[0], path: "pipe (read end)")
        let writer = OpenFile(adopting: ends[1], path: "pipe (write end)")
        defer { reader.close() }
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let writing = Task.detached {
            defer { writer.close() }
            try writer.writeAll(bytes)
        }
        var read = [UInt8](repeating: 0, count: bytes.count)
        try read.withUnsafeMutableBytes { try reader.readExact(into: $0) }
        try await writing.value
        #expect(read == bytes)
        var piece = [UInt8](repeating: 0, count: 10)
        #expect(try piece.withUnsafeMutableBytes { try reader.read(into: $0) } == 0, "the writer closed: end of file")
    }

    /// The exact-read loop keeps asking for what is missing, at the right offsets.
    @Test func aReaderThatReturnsAFewBytesAtATimeIsAskedAgain() throws {
        let file = (0..<100).map { UInt8($0) }
        var offsets: [Int] = []
        var buffer = [UInt8](repeating: 0, count: 50)
        try buffer.withUnsafeMutableBytes { buffer in
            try OpenFile.fill(buffer, at: 10, path: "choppy") { part, offset in
                offsets.append(offset)
                let count = min(7, part.count)
                file.withUnsafeBytes { part.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
                return count
            }
        }
        #expect(buffer == Array(file[10..<60]))
        #expect(offsets == [10, 17, 24, 31, 38, 45, 52, 59])
    }

    @Test func aFileWrittenAtOffsetsReadsBackWhole() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/file"
        let file = try OpenFile.createNew(path, .readWrite)
        defer { file.close() }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        try file.writeAll(Array(bytes[100_000...]), at: 100_000, pieceBytes: 4096)
        try file.writeAll(Array(bytes[..<100_000]), at: 0, pieceBytes: 3000)
        try file.syncData()
        #expect(try file.readExact(count: bytes.count, at: 0) == bytes)
        #expect(try file.status() == FileStatus(kind: .regular, size: bytes.count))
        #expect(try FileSystem.contents(of: path) == bytes)
    }

    /// A file shorter than a read that needs every byte: the error says which file, where,
    /// and how much was there.
    @Test func anExactReadPastTheEndNamesThePath() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/short"
        let file = try OpenFile.createNew(path, .readWrite)
        defer { file.close() }
        try file.writeAll([1, 2, 3, 4, 5])
        let error = #expect(throws: EndOfFileError.self) { try file.readExact(count: 10, at: 2) }
        #expect(error?.path == path)
        #expect(error?.found == 3)
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("10 bytes") == true)
        #expect(DFSError.wrap(error!).code == .ioError)
    }

    @Test func errorsCarryTheCallTheErrnoAndThePath() throws {
        let missing = "/nonexistent-\(UInt32.random(in: 0...UInt32.max))/file"
        let error = #expect(throws: SystemError.self) { try OpenFile.openForReading(missing) }
        #expect(error?.call == "open")
        #expect(error?.subject == missing)
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description == "open \(missing) failed: no such file or directory")
        #expect(DFSError.wrap(error!).code == .ioError, "a system error is an I/O error on the wire, not an internal one")

        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let exists = #expect(throws: SystemError.self) { try OpenFile.createNew(folder) }
        #expect(exists?.errno == .fileExists)
        #expect(try FileSystem.makeFolder(folder) == false, "a folder already there is not an error")
    }

    @Test func renameAndSyncMovesTheNameAndFlushesTheFolder() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let temp = folder + "/tmp-file"
        let file = try OpenFile.createNew(temp)
        try file.writeAll(Array("hello".utf8))
        try file.sync()
        file.close()
        try FileSystem.renameAndSyncFolder(temp, to: folder + "/file")
        #expect(try FileSystem.contentsOfFolder(folder) == ["file"])
        #expect(try FileSystem.contents(of: folder + "/file") == Array("hello".utf8))
        #expect(try FileSystem.statusIfPresent(temp) == nil)
        let error = #expect(throws: SystemError.self) { try FileSystem.renameAndSyncFolder(temp, to: folder + "/again") }
        #expect(error?.call == "rename")
        #expect(error?.subject == temp)
    }

    @Test func foldersAreMadeWithTheirParentsAndListed() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try FileSystem.makeFolders(folder + "/a/b/c"))
        #expect(try FileSystem.makeFolders(folder + "/a/b/c") == false)
        #expect(try FileSystem.status(folder + "/a/b").kind == .folder)
        #expect(try FileSystem.contentsOfFolder(folder + "/a") == ["b"])
        try FileSystem.remove(folder + "/a/missing")
        #expect(FileSystem.exists(folder + "/a/b"))
        #expect(!FileSystem.exists(folder + "/a/missing"))
        #expect(try FileSystem.freeBytes(folder) > 0)
    }

    /// A tree with a symbolic link and a name that is not UTF-8 goes whole; the link's target
    /// stays.
    @Test func aTreeIsRemovedWithoutFollowingLinks() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kept = folder + "/kept"
        try FileSystem.write([1, 2, 3], to: kept)
        try FileSystem.makeFolders(folder + "/tree/inner")
        try FileSystem.write([4], to: folder + "/tree/inner/file")
        #expect(symlink(kept, folder + "/tree/link") == 0)
        let odd = Array((folder + "/tree/caf").utf8) + [0xE9, 0]
        let made = odd.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { Glibc.open($0.baseAddress!, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) } }
        #expect(made >= 0)
        close(made)
        try FileSystem.removeTree(folder + "/tree")
        #expect(try FileSystem.contentsOfFolder(folder) == ["kept"])
        #expect(try FileSystem.contents(of: kept) == [1, 2, 3])
        try FileSystem.removeTree(folder + "/tree")
    }

    /// A call interrupted by a signal is made again; any other failure is returned.
    @Test func interruptedCallsAreRetriedAndOtherFailuresAreNot() {
        var calls = 0
        let result = retryingInterrupts { () -> Int in
            calls += 1
            guard calls > 2 else {
                errno = EINTR
                return -1
            }
            return 5
        }
        #expect(result == 5)
        #expect(calls == 3)
        calls = 0
        let failed = retryingInterrupts { () -> Int in
            calls += 1
            errno = EIO
            return -1
        }
        #expect(failed == -1)
        #expect(calls == 1)
    }
}
