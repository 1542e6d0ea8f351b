import Crypto
import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// A file of a tree download, with its block when the listing carried it.
struct TreeDownload: Sendable {
    var remote: DFSPath
    var local: String
    var info: FileInfo
    /// The file's blocks when the listing carried them (a file of at most one block).
    var blocks: [BlockLocation]?

    /// Read in a `readBlocks` batch (one block of at most ``Limits/batchedFileBytesMax``),
    /// or written without a read (empty); other files go one by one.
    var isSmall: Bool {
        guard let blocks, info.size <= Limits.batchedFileBytesMax else { return false }
        return blocks.isEmpty ? info.size == 0 : blocks.count == 1 && blocks[0].length == info.size
    }
}

extension DFSClient {
    /// Downloads small files (``TreeDownload/isSmall``) with `readBlocks` batches, the
    /// first batch from `node` (a ``ReadBatchPlan`` chose it), writing each file as its bytes
    /// are checked; `copied` is told of each file written. Empty files are written without
    /// a read.
    ///
    /// The blocks a batch did not serve (a node down or hung, a block missing or corrupt
    /// there) are planned again on their other replicas, leaving out the node that failed
    /// them, as many times as they have replicas; those still unread then go through
    /// ``download(_:to:verify:)``, which asks for fresh locations and reports the file's
    /// failure as a download of it alone does. A failure on this side (a local file that
    /// cannot be written) ends the batch, as it ends a download.
    ///
    /// The files are written by one batch at a time (`writer`, of capacity 1): files made in
    /// one folder by several threads at once wait for each other on the folder's lock, and
    /// the kernel spins while they wait. With 8 batches writing at once, 10,000 creations
    /// in one folder cost 3.4 s of system time (355 µs each); one writer at a time makes
    /// them in about 20 µs each, while the other batches' reads go on.
    func downloadSmallFiles(
        _ files: [TreeDownload], from node: NodeAddress?, verify: Bool, writer: InFlightBudget,
        copied: @Sendable (TreeDownload) -> Void
    ) async throws {
        /// Runs a job that writes files, alone among the batches of this download.
        func writing(_ job: @escaping @Sendable () throws -> Void) async throws {
            await writer.acquire(1)
            do {
                try await BlockingIO.run(job)
            } catch {
                await writer.release(1)
                throw error
            }
            await writer.release(1)
        }
        let empty = files.indices.filter { files[$0].blocks?.isEmpty == true }
        if !empty.isEmpty {
            try await writing {
                for index in empty { try Self.writeSmallFile(UnsafeRawBufferPointer(start: nil, count: 0), of: files[index], verify: verify) }
            }
            for index in empty { copied(files[index]) }
        }
        var rounds: [(node: NodeAddress, positions: [Int])] = []
        if let node { rounds.append((node, files.indices.filter { files[$0].blocks?.isEmpty == false })) }
        var excluded: [Int: Set<NodeID>] = [:]
        var unread: [Int] = []
        while let (node, positions) = rounds.popLast() {
            let blocks = positions.map { files[$0].blocks![0] }
            // A node found hung since the plan was made is not asked: its blocks go to their
            // other replicas at once instead of each batch waiting out the stall time.
            let (outcomes, payload): ([Result<Range<Int>, DFSError>], [UInt8]) =
                avoidance.nodes.contains(node.nodeID)
                ? (blocks.map { _ in .failure(DFSError(.timeout, "node \(node.nodeID) was found hung")) }, [])
                : await readBatch(blocks, from: node)
            var failed: [Int] = []
            for (position, outcome) in zip(positions, outcomes) {
                guard case .failure(let error) = outcome else { continue }
                failed.append(position)
                excluded[position, default: []].insert(node.nodeID)
                if error.code == .checksumMismatch || error.code == .notFound {
                    _ = try? await metaRequest(
                        ReportBadReplica(blockID: files[position].blocks![0].blockID, nodeID: node.nodeID, reason: error.message), expecting: OK.self)
                }
            }
            let served = zip(positions, outcomes).compactMap { position, outcome in (try? outcome.get()).map { (position, $0) } }
            if !served.isEmpty {
                try await writing {
                    try payload.withUnsafeBytes { bytes in
                        for (position, range) in served {
                            try Self.writeSmallFile(UnsafeRawBufferPointer(rebasing: bytes[range]), of: files[position], verify: verify)
                        }
                    }
                }
                for (position, range) in served {
                    progress?(range.count)
                    copied(files[position])
                }
            }
            guard !failed.isEmpty else { continue }
            let plan = ReadBatchPlan(
                failed.map { files[$0].blocks![0] }, excluded: Dictionary(uniqueKeysWithValues: failed.enumerated().map { ($0, excluded[$1] ?? []) }),
                avoided: avoidance.nodes)
            rounds += plan.batches.map { batch in (node: batch.node, positions: batch.blocks.map { failed[$0] }) }
            unread += plan.unplaced.map { failed[$0] }
        }
        for position in unread {
            let file = files[position]
            try await download(file.remote, to: file.local, verify: verify)
            copied(file)
        }
    }

    /// One `readBlocks` from `node`: per block, where its checked bytes are in the payload,
    /// or why it was not served. Every piece is checked against the checksum that came with
    /// it and every block against the checksum the meta server recorded, as a block read is
    /// (``receiveBlock(_:range:from:buffers:_:)``). A failure of the whole request fails every block.
    func readBatch(_ blocks: [BlockLocation], from node: NodeAddress) async -> (outcomes: [Result<Range<Int>, DFSError>], payload: [UInt8]) {
        // A node that does not answer within its stall time is hung: its blocks are read
        // elsewhere in seconds, as a single block's read would be.
        let stall = timeouts.stall
        let request = ReadBlocks(blocks: blocks.map { BlockRead(blockID: $0.blockID, token: $0.token) })
        do {
            let (reply, frame) = try await pool.withConnection(to: node.address, handshake: stall) { connection in
                try await connection.send(request, timeout: stall)
                return try await connection.readReply(ReadBlocksOK.self, timeout: stall)
            }
            guard reply.blocks.count == blocks.count, reply.servedBytes == frame.payload.count else {
                throw DFSError(
                    .protocolError,
                    "\(node.address) answered a batch of \(blocks.count) blocks with \(reply.blocks.count) outcomes and \(frame.payload.count) bytes")
            }
            var offset = 0
            let outcomes = zip(blocks, reply.blocks).map { block, outcome -> Result<Range<Int>, DFSError> in
                switch outcome {
                case .failed(let error):
                    return .failure(error)
                case .served(let length, let checksums):
                    let range = offset..<(offset + length)
                    offset += length
                    return Result { () throws(DFSError) in
                        try Self.check(block, checksums: checksums, bytes: frame.payload[range], from: node)
                        return range
                    }
                }
            }
            return (outcomes, frame.payload)
        } catch {
            let error = DFSError.wrap(error)
            // A read cancelled by this client says nothing about the node.
            if error.code == .timeout && !Task.isCancelled {
                await nodeTimedOut(node.nodeID, "batch read of \(blocks.count) blocks from \(node.address): \(error.message)")
            }
            return (blocks.map { _ in .failure(error) }, [])
        }
    }

    /// Throws `checksumMismatch` unless `bytes` are `block`'s: its length, pieces with these
    /// checksums, and the whole block's CRC32C as the meta server recorded it.
    static func check(_ block: BlockLocation, checksums: [UInt32], bytes: ArraySlice<UInt8>, from node: NodeAddress) throws(DFSError) {
        guard bytes.count == block.length else {
            throw DFSError(.checksumMismatch, "replica on \(node.address) has \(bytes.count) bytes, expected \(block.length)")
        }
        let actual = bytes.withUnsafeBytes { BlockData.checksums(of: $0) }
        guard actual == checksums else {
            throw DFSError(.checksumMismatch, "block \(block.blockID) from \(node.address): checksum mismatch in a piece")
        }
        let whole = BlockData.combined(actual, length: bytes.count)
        guard whole == block.checksum else {
            throw DFSError(.checksumMismatch, "block \(block.blockID) from \(node.address) has checksum \(whole), expected \(block.checksum)")
        }
    }

    /// Writes a small file whose bytes are all here and checked. A target that does not
    /// exist yet is written in place, as `cp` writes it: nothing else had the name, and a
    /// failure removes it. A name that is taken is written as a download writes a file: into
    /// a temp file beside it, then renamed over it (into it, under the file's own name, when
    /// it is a folder), so an existing file stays whole until its replacement is. A rename
    /// costs about three times the rest of a 4 KiB file's local work (ext4 here: 10,000
    /// files in 0.72 s through a temp file, 0.19 s in place). Either way the file is made
    /// readable as a new file is, and with `verify` it is read back and its CRC32C (and
    /// SHA-256, when one was recorded) compared with the file's first. Blocking: on a
    /// ``BlockingIO`` thread.
    static func writeSmallFile(_ bytes: UnsafeRawBufferPointer, of file: TreeDownload, verify: Bool) throws {
        let target = file.local
        if let sink = try LocalFile.creatingIfAbsent(target) {
            do {
                try fill(sink, with: bytes, of: file, verify: verify)
            } catch {
                FileSystem.removeQuietly(target)
                throw error
            }
            return
        }
        let slash = target.utf8.lastIndex(of: UInt8(ascii: "/")).map { target.utf8.distance(from: target.utf8.startIndex, to: $0) }
        let folder = slash.map { String(decoding: target.utf8.prefix($0), as: UTF8.self) } ?? "."
        let name = slash.map { String(decoding: target.utf8.dropFirst($0 + 1), as: UTF8.self) } ?? target
        let temp = "\(folder)/.\(name).dfs-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let sink = try LocalFile(creatingAt: temp)
        do {
            try fill(sink, with: bytes, of: file, verify: verify)
            do throws(SystemError) {
                try FileSystem.rename(temp, to: target)
            } catch  where error.errno == .isDirectory {
                // The target is a folder: the file goes inside it, as `cp` does.
                do throws(SystemError) {
                    try FileSystem.rename(temp, to: target + "/" + file.remote.name)
                } catch {
                    throw DFSError(.ioError, "cannot rename into \(target)/\(file.remote.name): \(error.reason)")
                }
            } catch {
                throw DFSError(.ioError, "cannot rename into \(target): \(error.reason)")
            }
        } catch {
            FileSystem.removeQuietly(temp)
            throw error
        }
    }

    /// Writes `bytes` into the new file `sink`, checks them when asked, makes the file
    /// readable as a new file is and closes it, on every path.
    private static func fill(_ sink: LocalFile, with bytes: UnsafeRawBufferPointer, of file: TreeDownload, verify: Bool) throws {
        defer { sink.close() }
        try sink.write(bytes, at: 0)
        if verify {
            let back = try sink.read(at: 0, count: bytes.count)
            var crc = CRC32C()
            crc.update(back)
            let sha256 = file.info.sha256 == nil ? nil : Hex.encode(SHA256.hash(data: back))
            try check(file.remote, "copy", crc32c: crc.value, sha256: sha256, against: file.info)
        }
        try? sink.setDefaultPermissions()
    }
}
