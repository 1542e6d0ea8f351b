import DFSCore
import Foundation

/// The checksums stored beside each block, in `blk_<id>.crc`:
///
/// ```
/// "DFSC" | version: UInt32 = 1 | block length: UInt64 | whole-block CRC32C: UInt32
/// | piece count: UInt32 | one CRC32C per 64 KiB piece: UInt32 each   (all big-endian)
/// ```
///
/// A piece is the 64 KiB unit of checksums (`Limits.pieceBytes`); a frame, the unit
/// on the wire, carries a whole number of them.
public struct ChecksumFile: Equatable, Sendable {
    public var blockLength: Int
    public var blockChecksum: UInt32
    /// One CRC32C per 64 KiB piece of the block, in order; the last piece may be shorter.
    public var pieceChecksums: [UInt32]

    static let magic: [UInt8] = Array("DFSC".utf8)
    static let headerBytes = 24

    public init(blockLength: Int, blockChecksum: UInt32, pieceChecksums: [UInt32]) {
        self.blockLength = blockLength
        self.blockChecksum = blockChecksum
        self.pieceChecksums = pieceChecksums
    }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerBytes + 4 * pieceChecksums.count)
        BigEndian.append(UInt32(1), to: &bytes)
        BigEndian.append(UInt64(blockLength), to: &bytes)
        BigEndian.append(blockChecksum, to: &bytes)
        BigEndian.append(UInt32(pieceChecksums.count), to: &bytes)
        for checksum in pieceChecksums { BigEndian.append(checksum, to: &bytes) }
        return bytes
    }

    /// Decodes and checks the file against itself: the piece count must fit the length.
    public init(decoding bytes: [UInt8]) throws(DFSError) {
        guard bytes.count >= Self.headerBytes, Array(bytes[0..<4]) == Self.magic, BigEndian.uint32(bytes, at: 4) == 1 else {
            throw DFSError(.checksumMismatch, "checksum file is damaged (bad header)")
        }
        let length = BigEndian.uint64(bytes, at: 8)
        let count = Int(BigEndian.uint32(bytes, at: 20))
        guard length <= UInt64(Limits.blockBytesMax),
            count == (Int(length) + Limits.pieceBytes - 1) / Limits.pieceBytes,
            bytes.count == Self.headerBytes + 4 * count
        else {
            throw DFSError(.checksumMismatch, "checksum file is damaged (length and piece count disagree)")
        }
        blockLength = Int(length)
        blockChecksum = BigEndian.uint32(bytes, at: 16)
        pieceChecksums = (0..<count).map { BigEndian.uint32(bytes, at: Self.headerBytes + 4 * $0) }
    }
}
