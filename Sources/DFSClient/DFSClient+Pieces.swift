import DFSCore
import DFSNet

/// Reads in pieces smaller than a file: one block into memory, one page of a folder. For
/// callers that serve ranges and listings as they are asked for them (the mount), not
/// whole files.
extension DFSClient {
    /// One block's bytes, from the first replica that serves all of it intact (every piece
    /// checked against its CRC32C, the whole block against the one the meta server
    /// recorded), as ``readBlock(_:of:buffers:_:)`` reads it for a download. One try: a
    /// failure of every replica is thrown.
    public func readBlock(_ block: BlockLocation, of path: DFSPath) async throws -> [UInt8] {
        let target = BlockBytes(count: block.length)
        // A replica that fails midway hands over to the next, which starts again from
        // offset 0: its bytes land on the same places, so the result is whole either way.
        try await readBlock(block, of: path, buffers: PayloadBuffers(limit: 1)) { offset, bytes in
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

/// A block's bytes as replicas deliver them, each piece copied to its offset.
private final class BlockBytes: Sendable {
    private let bytes: Mutex<[UInt8]>

    init(count: Int) { bytes = Mutex([UInt8](repeating: 0, count: count)) }

    func copy(_ piece: [UInt8], at offset: Int) {
        bytes.withLock { bytes in
            precondition(offset >= 0 && offset + piece.count <= bytes.count, "a verified piece lies inside its block")
            bytes.replaceSubrange(offset..<offset + piece.count, with: piece)
        }
    }

    func take() -> [UInt8] { bytes.withLock { $0 } }
}
