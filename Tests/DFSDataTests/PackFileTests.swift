import DFSCore
import Foundation
import Testing

@testable import DFSData

#if canImport(Glibc)
    import Glibc
#endif

/// Reading a pack's footer through a pread(2) that, as the kernel may, returns fewer bytes
/// than asked or is interrupted by a signal.
@Suite struct PackFileTests {
    /// A pread over `file` that returns at most `step` bytes a call, and fails every
    /// `interruptEvery`-th call with EINTR (never, when 0).
    final class ChoppyReader: @unchecked Sendable {
        let file: [UInt8]
        let step: Int
        let interruptEvery: Int
        var calls = 0

        init(_ file: [UInt8], step: Int, interruptEvery: Int = 0) {
            self.file = file
            self.step = step
            self.interruptEvery = interruptEvery
        }

        func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
            calls += 1
            if interruptEvery > 0 && calls % interruptEvery == 0 {
                errno = EINTR
                return -1
            }
            let start = Int(offset)
            let length = max(0, min(count, step, file.count - start))
            file.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + start, byteCount: length) }
            return length
        }
    }

    let entries = [
        PackFile.Entry(blockID: BlockID(7), offset: 0, length: 5, checksum: 9, pieceChecksums: [9]),
        PackFile.Entry(blockID: BlockID(8), offset: 5, length: 70_000, checksum: 11, pieceChecksums: [1, 2]),
    ]

    var pack: [UInt8] { [UInt8](repeating: 0xAB, count: 70_005) + PackFile.footer(entries) }

    @Test func shortReadsAreContinuedUntilEveryByteIsThere() throws {
        let bytes = (0..<100).map { UInt8($0) }
        let reader = ChoppyReader(bytes, step: 7)
        #expect(try PackFile.read(-1, at: 10, count: 50, using: reader.read) == Array(bytes[10..<60]))
        #expect(reader.calls == 8, "50 bytes at 7 a call")
    }

    @Test func interruptedReadsAreRetried() throws {
        let bytes = (0..<100).map { UInt8($0) }
        let reader = ChoppyReader(bytes, step: 16, interruptEvery: 2)
        #expect(try PackFile.read(-1, at: 0, count: 100, using: reader.read) == bytes)
    }

    @Test func aFileThatEndsEarlyIsDamaged() {
        let reader = ChoppyReader([1, 2, 3], step: 2)
        let error = #expect(throws: DFSError.self) { try PackFile.read(-1, at: 0, count: 4, using: reader.read) }
        #expect(error?.code == .checksumMismatch)
    }

    @Test func aReadErrorIsDamage() {
        let error = #expect(throws: DFSError.self) {
            try PackFile.read(-1, at: 0, count: 4) { _, _, _, _ in
                errno = EIO
                return -1
            }
        }
        #expect(error?.code == .checksumMismatch)
    }

    /// Before reads were looped, one short read set a whole, intact pack aside as bad.
    @Test func aFooterReadInSmallPiecesIsWhole() throws {
        let file = pack
        let reader = ChoppyReader(file, step: 5, interruptEvery: 3)
        #expect(try PackFile.entries(of: -1, size: file.count, using: reader.read) == entries)
    }

    @Test func aFooterReadFromARealFileIsWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-pack-\(UUID().uuidString.prefix(8))").path
        defer { unlink(path) }
        let file = pack
        try Data(file).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(try PackFile.entries(of: fd, size: file.count) == entries)
    }

    @Test func bigEndianNumbersRoundTrip() {
        var bytes: [UInt8] = []
        BigEndian.append(UInt32(0x0102_0304), to: &bytes)
        BigEndian.append(UInt64(0x1122_3344_5566_7788), to: &bytes)
        #expect(bytes == [1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        #expect(BigEndian.uint32(bytes, at: 0) == 0x0102_0304)
        #expect(BigEndian.uint64(bytes, at: 4) == 0x1122_3344_5566_7788)
    }
}
