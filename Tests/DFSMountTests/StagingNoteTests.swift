import DFSCore
import DFSSystem
import Foundation
import Testing

@testable import DFSMount

/// The notes a write-back close leaves beside a staged file, and the names a lookup found
/// absent.
@Suite struct StagingNoteTests {
    @Test func readyNoteRoundTripsAndMatchesOnlyItsBytes() throws {
        let bytes = Array("hello, staged world".utf8)
        let note = StagingArea.ReadyNote(path: "/a b/ü\nx", size: bytes.count, crc32c: CRC32C.checksum(bytes))
        let read = try #require(StagingArea.ReadyNote(note.bytes))
        #expect(read == note)
        #expect(read.matches(bytes))
        var changed = bytes
        changed[3] ^= 1
        #expect(!read.matches(changed))
        #expect(!read.matches(Array(bytes.dropLast())))
        #expect(!read.matches([]))
    }

    @Test func notesCutShortOrOfAnotherFormAreNotNotes() {
        let whole = StagingArea.ReadyNote(path: "/f", size: 3, crc32c: 7).bytes
        // Cut anywhere up to the path's first byte: the path would be empty or missing.
        for length in 0...(whole.count - 2) {
            #expect(StagingArea.ReadyNote(Array(whole.prefix(length))) == nil, "prefix of \(length) bytes")
        }
        #expect(StagingArea.ReadyNote(Array("/just/a/path".utf8)) == nil)
        #expect(StagingArea.ReadyNote(Array("dfs-staged 2 3 7\n/f".utf8)) == nil)
        #expect(StagingArea.ReadyNote(Array("dfs-staged 1 x 7\n/f".utf8)) == nil)
        #expect(StagingArea.ReadyNote(Array("dfs-staged 1 3 99999999999\n/f".utf8)) == nil)
    }

    /// A staged file whose bytes changed after its note (the machine went down before they
    /// reached the disk) is a leftover to report, not to upload.
    @Test func leftoversAreReadyOnlyWhenTheirBytesMatchTheNote() throws {
        let cache = FileManager.default.temporaryDirectory.path + "/dfs-notes-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileSystem.removeTree(cache) }
        // A process id that is surely gone: the kernel's limit is below it.
        let folder = cache + "/" + StagingArea.folderPrefix + "\(Int32.max)-1"
        try FileSystem.makeFolders(folder)
        let good = Array("closed bytes".utf8)
        try FileSystem.write(good, to: folder + "/staged-1")
        try FileSystem.write(StagingArea.ReadyNote(path: "/x/good", size: good.count, crc32c: CRC32C.checksum(good)).bytes, to: folder + "/staged-1.ready")
        try FileSystem.write(Array(repeating: 0, count: good.count), to: folder + "/staged-2")
        try FileSystem.write(StagingArea.ReadyNote(path: "/x/lost", size: good.count, crc32c: CRC32C.checksum(good)).bytes, to: folder + "/staged-2.ready")
        try FileSystem.write(Array("half".utf8), to: folder + "/staged-3")
        try FileSystem.write(Array("/x/open".utf8), to: folder + "/staged-3.path")

        // Notes as extended attributes of the staged file, as the mount writes them where the
        // file system takes them (ext4, tmpfs, xfs, btrfs do).
        let staged4 = folder + "/staged-4"
        let held = Array("kept in attributes".utf8)
        try FileSystem.write(held, to: staged4)
        let file = try OpenFile.open(staged4, .readWrite)
        let ready = StagingArea.ReadyNote(path: "/x/attributes", size: held.count, crc32c: CRC32C.checksum(held))
        let tookNotes =
            StagingArea.setNote(StagingArea.pathAttribute, Array("/x/attributes".utf8), on: file.fd)
            && StagingArea.setNote(StagingArea.readyAttribute, ready.bytes, on: file.fd)
        file.close()
        #expect(tookNotes, "the temp folder's file system refuses user extended attributes")
        // An emptied file the dead mount kept for reuse: nothing to report, removed.
        try FileSystem.write([], to: folder + "/staged-5")

        let found = Dictionary(uniqueKeysWithValues: StagingArea.leftovers(in: cache).map { ($0.clusterPath, $0) })
        #expect(found.count == 4)
        #expect(found["/x/attributes"]?.ready == true && found["/x/attributes"]?.bytes == held.count)
        #expect(found["/x/good"]?.ready == true && found["/x/good"]?.damaged == false)
        #expect(found["/x/lost"]?.ready == false && found["/x/lost"]?.damaged == true)
        #expect(found["/x/open"]?.ready == false && found["/x/open"]?.damaged == false && found["/x/open"]?.bytes == 4)
        #expect(!FileSystem.exists(folder + "/staged-5"))
    }

    /// Emptied staged files wait for reuse, at most ``StagingArea/idleFilesMax`` of them.
    @Test func idleFilesAreKeptUpToTheirLimitAndTakenBack() throws {
        let cache = FileManager.default.temporaryDirectory.path + "/dfs-idle-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileSystem.removeTree(cache) }
        let staging = try StagingArea(folder: cache + "/staging", capacityBytes: 1 << 20)
        #expect(staging.takeIdleFile() == nil)
        var kept = 0
        for _ in 0..<(StagingArea.idleFilesMax + 3) {
            let path = staging.newPath()
            let file = try OpenFile.open(path, .readWrite, options: [.create], permissions: [.ownerReadWrite])
            if staging.keepIdleFile(path, file) {
                kept += 1
            } else {
                file.close()
            }
        }
        #expect(kept == StagingArea.idleFilesMax)
        let taken = try #require(staging.takeIdleFile())
        #expect(FileSystem.exists(taken.path))
        #expect(staging.keepIdleFile(taken.path, taken.file))
        staging.removeFolder()
        #expect(staging.takeIdleFile() == nil)
        #expect(!FileSystem.exists(cache + "/staging"))
    }

    @Test func notesAsAttributesAreSetReadAndRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.path + "/dfs-notes-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.makeFolders(folder)
        defer { try? FileSystem.removeTree(folder) }
        let path = folder + "/staged-1"
        try FileSystem.write([1, 2, 3], to: path)
        let file = try OpenFile.open(path, .readWrite)
        defer { file.close() }
        #expect(StagingArea.note(StagingArea.readyAttribute, of: path) == nil)
        let note = Array(("dfs-staged 1 3 9\n/" + String(repeating: "n", count: 1000)).utf8)
        #expect(StagingArea.setNote(StagingArea.readyAttribute, note, on: file.fd))
        #expect(StagingArea.note(StagingArea.readyAttribute, of: path) == note)
        StagingArea.removeNote(StagingArea.readyAttribute, on: file.fd)
        #expect(StagingArea.note(StagingArea.readyAttribute, of: path) == nil)
    }

    @Test func absentNamesAreTakenOnceAndOnlyWithinTheWindow() throws {
        var names = AbsentNames(window: .seconds(1))
        let start = ContinuousClock.now
        let path = try DFSPath("/d/file")
        names.remember(path, at: start)
        let first = names.take(path, at: start + .milliseconds(500))
        let second = names.take(path, at: start + .milliseconds(600))
        #expect(first && !second, "taken once")
        names.remember(path, at: start)
        let late = names.take(path, at: start + .seconds(2))
        #expect(!late, "expired")
        // Another spelling of the same accented name is another path.
        names.remember(try DFSPath("/d/\u{E9}"), at: start)
        let otherSpelling = names.take(try DFSPath("/d/e\u{301}"), at: start)
        #expect(!otherSpelling)
        var off = AbsentNames(window: .zero)
        off.remember(path, at: start)
        let whenOff = off.take(path, at: start)
        #expect(!whenOff)
    }

    @Test func absentNamesStayWithinTheirCapacity() throws {
        var names = AbsentNames(window: .seconds(60))
        let start = ContinuousClock.now
        for index in 0..<(AbsentNames.capacity * 2 + 10) {
            names.remember(try DFSPath("/f\(index)"), at: start)
            #expect(names.count <= AbsentNames.capacity)
        }
        let last = names.take(try DFSPath("/f\(AbsentNames.capacity * 2 + 9)"), at: start)
        #expect(last)
    }
}
