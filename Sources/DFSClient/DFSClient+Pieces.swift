import DFSCore
import DFSNet

/// Reads in pieces smaller than a file: one block into memory, one page of a folder. For
/// callers that serve ranges and listings as they are asked for them (the mount), not
/// whole files.
extension DFSClient {
    /// One block's bytes, or those of `range` of it (its start a multiple of
    /// ``Limits/pieceBytes``), from the first replica that serves them all intact: every
    /// piece checked against its CRC32C and, for a whole block, the block against the
    /// checksum the meta server recorded, as ``readBlock(_:of:range:buffers:_:)`` reads it for
    /// a download. One try: a failure of every replica is thrown.
    public func readBlock(_ block: BlockLocation, of path: DFSPath, range: Range<Int>? = nil) async throws -> [UInt8] {
        let range = range ?? 0..<block.length
        let target = BlockBytes(count: range.count, start: range.lowerBound)
        // A replica that fails midway hands over to the next, which starts again from the
        // range's start: its bytes land on the same places, so the result is whole either way.
        try await readBlock(block, of: path, range: range, buffers: PayloadBuffers(limit: 1)) { offset, bytes in
            target.copy(bytes, at: offset)
        }
        return target.take()
    }

    /// One page of a folder's entries, in name order, starting after the name `after` (nil
    /// for the first page): at most `limit` entries, and whether more follow.
    public func listPage(_ path: DFSPath, after: String?, limit: Int = Limits.listEntriesMax) async throws -> ListOK {
        try await metaRequest(List(path: path, after: after, limit: limit), expecting: ListOK.self)
    }
}

/// A block's bytes (or a range's, from `start` in the block) as replicas deliver them, each
/// piece copied to its offset; a frame that brings the whole range is kept as it is, not
/// copied (a range of at most ``Limits/readFrameBytes`` comes in one).
private final class BlockBytes: Sendable {
    private let bytes = Mutex<[UInt8]?>(nil)
    private let count: Int
    private let start: Int

    init(count: Int, start: Int) {
        self.count = count
        self.start = start
    }

    func copy(_ piece: [UInt8], at blockOffset: Int) {
        let offset = blockOffset - start
        bytes.withLock { bytes in
            precondition(offset >= 0 && offset + piece.count <= count, "a verified piece lies inside its range")
            if offset == 0 && piece.count == count {
                bytes = piece
                return
            }
            if bytes == nil { bytes = [UInt8](repeating: 0, count: count) }
            bytes!.withUnsafeMutableBytes { target in
                piece.withUnsafeBytes { source in
                    guard let base = source.baseAddress else { return }
                    target.baseAddress!.advanced(by: offset).copyMemory(from: base, byteCount: source.count)
                }
            }
        }
    }

    func take() -> [UInt8] { bytes.withLock { $0 ?? [UInt8](repeating: 0, count: count) } }
}
