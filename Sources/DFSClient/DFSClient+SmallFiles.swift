import DFSCore

extension DFSClient {
    /// The bytes of the small files among `files` (no block, or one of at most
    /// ``Limits/batchedFileBytesMax``), read with `readBlocks` from their nodes in as few
    /// requests as a ``ReadBatchPlan`` makes, each block checked as any read is (its pieces,
    /// and its CRC32C against the one the meta server recorded). Nil for every other entry,
    /// and for a file whose batch read failed: the caller reads those one by one, which tries
    /// each replica in turn and reports bad ones. For `dfs cat` of many small files: a
    /// round trip per batch of up to 256 files instead of one per file.
    ///
    /// The caller bounds the memory: it hands over files whose sizes add up to what it is
    /// willing to hold (`dfs cat` hands over at most ``Limits/payloadBytesMax`` at a time).
    public func readSmallFiles(_ files: [GetFileOK]) async -> [[UInt8]?] {
        var contents: [[UInt8]?] = Array(repeating: nil, count: files.count)
        var positions: [Int] = []
        for (position, file) in files.enumerated() where file.info.type == .file {
            if file.blocks.isEmpty && file.info.size == 0 {
                contents[position] = []
            } else if file.blocks.count == 1, file.info.size == file.blocks[0].length, file.info.size <= Limits.batchedFileBytesMax,
                // A recorded SHA-256 is checked by the one-by-one read; so is a whole-file
                // CRC32C that disagrees with the block's (for one block they are one number,
                // and the block's is checked against the bytes below).
                file.info.sha256 == nil, file.info.crc32c.map({ $0 == file.blocks[0].checksum }) ?? true
            {
                positions.append(position)
            }
        }
        guard !positions.isEmpty else { return contents }
        let blocks = positions.map { files[$0].blocks[0] }
        let plan = ReadBatchPlan(blocks, avoided: avoidance.nodes)
        for batch in plan.batches {
            let (outcomes, payload) = await readBatch(batch.blocks.map { blocks[$0] }, from: batch.node)
            for (index, outcome) in zip(batch.blocks, outcomes) {
                if case .success(let range) = outcome { contents[positions[index]] = Array(payload[range]) }
            }
        }
        return contents
    }
}
