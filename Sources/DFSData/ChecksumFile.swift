import DFSCore
import Foundation

/// The checksums stored beside each block, in `blk_<id>.crc`:
///
/// ```
/// "DFSC" | version: UInt32 = 1 | block length: UInt64 | whole-block CRC32C: UInt32
/// | chunk count: UInt32 | one CRC32C per 64 KiB chunk: UInt32 each   (all big-endian)
/// ```
public struct ChecksumFile: Equatable, Sendable {
    public var blockLength: Int
    public var blockChecksum: UInt32
    public var chunkChecksums: [UInt32]

    static let magic: [UInt8] = Array("DFSC".utf8)
    static let headerBytes = 24

    public init(blockLength: Int, blockChecksum: UInt32, chunkChecksums: [UInt32]) {
        self.blockLength = blockLength
        self.blockChecksum = blockChecksum
        self.chunkChecksums = chunkChecksums
    }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerBytes + 4 * chunkChecksums.count)
        append(UInt32(1), to: &bytes)
        append(UInt64(blockLength), to: &bytes)
        append(blockChecksum, to: &bytes)
        append(UInt32(chunkChecksums.count), to: &bytes)
        for checksum in chunkChecksums { append(checksum, to: &bytes) }
        return bytes
    }

    /// Decodes and checks the file against itself: the chunk count must fit the length.
    public init(decoding bytes: [UInt8]) throws(DFSError) {
        guard bytes.count >= Self.headerBytes, Array(bytes[0..<4]) == Self.magic, Self.read32(bytes, 4) == 1 else {
            throw DFSError(.checksumMismatch, "checksum file is damaged (bad header)")
        }
        let length = Self.read64(bytes, 8)
        let count = Int(Self.read32(bytes, 20))
        guard length <= UInt64(Limits.blockBytesMax),
            count == (Int(length) + Limits.checksumChunkBytes - 1) / Limits.checksumChunkBytes,
            bytes.count == Self.headerBytes + 4 * count
        else {
            throw DFSError(.checksumMismatch, "checksum file is damaged (length and chunk count disagree)")
        }
        blockLength = Int(length)
        blockChecksum = Self.read32(bytes, 16)
        chunkChecksums = (0..<count).map { Self.read32(bytes, Self.headerBytes + 4 * $0) }
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func read64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        bytes[offset..<(offset + 8)].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
