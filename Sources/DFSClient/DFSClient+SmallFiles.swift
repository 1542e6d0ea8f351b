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
                // A recorded SHA-256 is checked by the one-by-one read.
                file.info.sha256 == nil
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
                guard case .success(let range) = outcome else { continue }
                let bytes = Array(payload[range])
                // The block was checked against its recorded CRC32C; the file's own, when
                // recorded, is the same number for a file of one block, and checked too.
                if let crc32c = files[positions[index]].info.crc32c, CRC32C.checksum(bytes) != crc32c { continue }
                contents[positions[index]] = bytes
            }
        }
        return contents
    }
}
