import DFSCore
import DFSSystem
import Foundation

/// A pack: the small blocks of one `writeBlocks` batch in one file, for a store that would
/// otherwise make two files (two inodes, two flushes, two renames) per 4 KiB block.
///
/// Packs live in `blocks/packs/`, named `pack_<first block id, 16 hex digits>_<8 random hex
/// digits>`, and are written whole and never changed: a temp file (`tmp-pack_…`), flushed,
/// renamed into place, the folder flushed; so a pack with its name is complete. Layout:
///
/// ```
/// block data, one block after another
/// footer: "DFSK" | version: UInt32 = 1 | count: UInt32
///         | per block: id: UInt64 | offset: UInt64 | length: UInt64 | CRC32C: UInt32
///                      | piece count: UInt32 | one CRC32C per 64 KiB piece: UInt32 each
/// trailer: footer length: UInt32 | CRC32C of the footer: UInt32 | "DFSK"   (all big-endian)
/// ```
///
/// A pack goes with its last block, or is compacted once half its bytes are dead
/// (``BlockStore/compactPacks()``). Until then the ids of its deleted
/// blocks are appended to `pack_….dead` beside it (not flushed: a tombstone lost to a power
/// cut only brings back a block the meta server no longer owns, and it is deleted again),
/// and skipped at start.
enum PackFile {
    static let magic: [UInt8] = Array("DFSK".utf8)
    static let deadSuffix = ".dead"
    static let trailerBytes = 12
    static let namePrefix = "pack_"

    /// One block inside a pack.
    struct Entry: Equatable, Sendable {
        var blockID: BlockID
        var offset: Int
        var length: Int
        var checksum: UInt32
        /// One CRC32C per 64 KiB piece of the block, as in a ``ChecksumFile``.
        var pieceChecksums: [UInt32]
    }

    /// The footer and trailer for `entries`.
    static func footer(_ entries: [Entry]) -> [UInt8] {
        var footer = magic
        BigEndian.append(UInt32(1), to: &footer)
        BigEndian.append(UInt32(entries.count), to: &footer)
        for entry in entries {
            BigEndian.append(entry.blockID.rawValue, to: &footer)
            BigEndian.append(UInt64(entry.offset), to: &footer)
            BigEndian.append(UInt64(entry.length), to: &footer)
            BigEndian.append(entry.checksum, to: &footer)
            BigEndian.append(UInt32(entry.pieceChecksums.count), to: &footer)
            for piece in entry.pieceChecksums { BigEndian.append(piece, to: &footer) }
        }
        var crc = CRC32C()
        footer.withUnsafeBytes { crc.update($0) }
        var trailer: [UInt8] = []
        BigEndian.append(UInt32(footer.count), to: &trailer)
        BigEndian.append(crc.value, to: &trailer)
        trailer += magic
        return footer + trailer
    }

    /// Reads and checks a pack's footer. Throws `checksumMismatch` for a damaged one.
    /// `positionalRead` is pread(2) but in tests (see ``read(_:at:count:using:)``).
    static func entries(of fd: Int32, size: Int, using positionalRead: PositionalRead = PackFile.pread) throws(DFSError) -> [Entry] {
        guard size >= trailerBytes else { throw damaged("shorter than its trailer") }
        let trailer = try read(fd, at: size - trailerBytes, count: trailerBytes, using: positionalRead)
        guard Array(trailer[8..<12]) == magic else { throw damaged("no trailer") }
        let footerLength = Int(BigEndian.uint32(trailer, at: 0))
        guard footerLength >= 12, footerLength <= size - trailerBytes else { throw damaged("footer length \(footerLength)") }
        let dataEnd = size - trailerBytes - footerLength
        let footer = try read(fd, at: dataEnd, count: footerLength, using: positionalRead)
        var crc = CRC32C()
        footer.withUnsafeBytes { crc.update($0) }
        guard crc.value == BigEndian.uint32(trailer, at: 4), Array(footer[0..<4]) == magic, BigEndian.uint32(footer, at: 4) == 1 else {
            throw damaged("footer checksum")
        }
        let count = Int(BigEndian.uint32(footer, at: 8))
        var entries: [Entry] = []
        var position = 12
        for _ in 0..<count {
            guard position + 32 <= footer.count else { throw damaged("entry past the footer") }
            let id = BigEndian.uint64(footer, at: position)
            let offset = BigEndian.uint64(footer, at: position + 8)
            let length = BigEndian.uint64(footer, at: position + 16)
            let checksum = BigEndian.uint32(footer, at: position + 24)
            let pieceCount = Int(BigEndian.uint32(footer, at: position + 28))
            position += 32
            guard offset <= UInt64(dataEnd), length >= 1, length <= UInt64(dataEnd) - offset,
                pieceCount == (Int(length) + Limits.pieceBytes - 1) / Limits.pieceBytes,
                position + 4 * pieceCount <= footer.count
            else { throw damaged("entry of block \(id)") }
            let pieces = (0..<pieceCount).map { BigEndian.uint32(footer, at: position + 4 * $0) }
            position += 4 * pieceCount
            entries.append(Entry(blockID: BlockID(id), offset: Int(offset), length: Int(length), checksum: checksum, pieceChecksums: pieces))
        }
        guard position == footer.count else { throw damaged("footer longer than its entries") }
        return entries
    }

    /// Appends a deleted block's id to a pack's list of dead blocks (8 bytes, big-endian).
    static func noteDead(_ blockID: BlockID, at path: String) {
        guard let file = try? OpenFile.openForAppending(path) else { return }
        defer { file.close() }
        var bytes: [UInt8] = []
        BigEndian.append(blockID.rawValue, to: &bytes)
        try? file.writeAll(bytes)
    }

    /// The ids in a list of dead blocks; a torn last entry is ignored.
    static func deadBlocks(at path: String) -> Set<BlockID> {
        guard let bytes = try? FileSystem.contents(of: path) else { return [] }
        return Set(stride(from: 0, to: bytes.count - 7, by: 8).map { BlockID(BigEndian.uint64(bytes, at: $0)) })
    }

    private static func damaged(_ what: String) -> DFSError {
        DFSError(.checksumMismatch, "pack is damaged (\(what))")
    }

    /// pread(2)'s shape, so that a test can stand in a reader that returns a few bytes at a
    /// time or is interrupted.
    typealias PositionalRead = (_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int

    /// pread(2) itself, through the system-call layer's one EINTR retry.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
        (try? OpenFile(adopting: fd, path: "pack").read(into: UnsafeMutableRawBufferPointer(start: buffer, count: count), at: Int(offset))) ?? -1
    }

    /// `count` bytes at `offset`, read exactly (``OpenFile/fill(_:at:path:using:)``): a
    /// read that returns fewer bytes is continued, one interrupted by a signal (EINTR) is
    /// retried. Only an error or the file's end before `count` bytes makes the pack damaged.
    static func read(_ fd: Int32, at offset: Int, count: Int, using positionalRead: PositionalRead = PackFile.pread) throws(DFSError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        do {
            try bytes.withUnsafeMutableBytes { buffer in
                try OpenFile.fill(buffer, at: offset, path: "pack") { (part, position) throws(SystemError) in
                    let result = retryingInterrupts { positionalRead(fd, part.baseAddress!, part.count, off_t(position)) }
                    guard result >= 0 else { throw .current("pread", "pack") }
                    return result
                }
            }
        } catch {
            throw damaged("cannot read \(count) bytes at \(offset)")
        }
        return bytes
    }
}

/// Where a block's bytes are: a file of its own from offset 0, or a range of a pack.
public struct BlockSource: Sendable {
    /// Open for reading; the caller closes it (``close()``).
    public let file: OpenFile
    /// The raw descriptor, for sendfile(2).
    public var fd: Int32 { file.fd }
    /// Where the block starts in the file.
    public let offset: Int
    public let length: Int

    public init(file: OpenFile, offset: Int, length: Int) {
        self.file = file
        self.offset = offset
        self.length = length
    }

    public func close() { file.close() }
}
