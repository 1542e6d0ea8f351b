import Crypto
import DFSCore
import DFSNet
import DFSSystem
import Foundation

extension DFSClient {
    /// Reads `path` into a local file.
    ///
    /// Blocks are read in parallel into a temp file beside the target, each from the first
    /// replica that serves it whole; the temp file is renamed over the target only when every
    /// byte has arrived and checked. Every 64 KiB piece is checked against the checksum stored
    /// with it, and every block against the checksum the meta server recorded, which the
    /// uploader computed from its own bytes: the chain of CRC32Cs runs end to end. With
    /// `verify`, the copy is also read back and its CRC32C compared with the whole file's,
    /// and its SHA-256 with the one recorded at upload, if any (a SHA-256 costs about twice
    /// the CPU of the rest of a download, so this is asked for, not done by default). On
    /// failure no local file is left behind. When `localPath` is an existing folder, the
    /// file goes inside it under its own name, as `cp` does. One try:
    /// ``download(_:to:verify:)`` retries.
    func downloadOnce(_ path: DFSPath, to localPath: String, verify: Bool) async throws -> FileInfo {
        let file = try await stat(path)
        var target = localPath
        if try await BlockingIO.run({ try? FileSystem.status(localPath).kind }) == .folder {
            target = URL(fileURLWithPath: localPath).appendingPathComponent(path.name).path
        }
        if let linkTarget = file.info.target {
            // A link comes out as a link, as cp -P copies one.
            let made = target
            _ = try await BlockingIO.run { try Self.makeLocalLink(at: made, to: linkTarget, overwrite: true) }
            return file.info
        }
        guard file.info.type == .file else {
            throw DFSError(.isADirectory, "\(path) is a folder; copy a file")
        }
        let targetURL = URL(fileURLWithPath: target)
        let folder = targetURL.deletingLastPathComponent().path
        let temp = URL(fileURLWithPath: folder)
            .appendingPathComponent(".\(targetURL.lastPathComponent).dfs-\(UInt32.random(in: 0...UInt32.max)).tmp").path
        // Creating the file and reserving its space (which may take a while for a large
        // file) are blocking calls: off the cooperative pool.
        let sink = try await BlockingIO.run { try LocalFile(creatingAt: temp) }
        do {
            let size = file.info.size
            try await BlockingIO.run { try sink.reserve(size) }
            var offsets: [Int] = []
            var position = 0
            for block in file.blocks {
                offsets.append(position)
                position += block.length
            }
            guard position == file.info.size else {
                throw DFSError(.internalError, "\(path): blocks add up to \(position) bytes, the file has \(file.info.size)")
            }
            let blockOffsets = offsets
            let progress = self.progress
            // With verify, the last check: the bytes written, read back in order (from the page
            // cache, as a rule, and while later blocks still arrive), are the file the cluster
            // recorded. Only then does the copy take the target's name. Like cp, a download is
            // not fsynced: the cluster holds the durable copy, and the rename keeps a
            // half-written file from ever having the name.
            let digester =
                verify
                ? SequentialDigest(file: sink, ranges: zip(offsets, file.blocks).map { ($0, $1.length) }, sha256: file.info.sha256 != nil)
                : nil
            let buffers = PayloadBuffers(limit: Limits.blocksInFlight)
            _ = try await forEachBlock(count: file.blocks.count) { blockIndex in
                let start = blockOffsets[blockIndex]
                try await self.readBlock(file.blocks[blockIndex], of: path, buffers: buffers) { offset, bytes in
                    try await BlockingIO.run { try sink.write(bytes, at: start + offset) }
                    progress?(bytes.count)
                }
                try await digester?.finished(blockIndex)
            }
            if let digester {
                let digest = try await digester.digest()
                try Self.check(path, "copy", crc32c: digest.crc32c, sha256: digest.sha256, against: file.info)
            }
            let finalTarget = target
            try await BlockingIO.run {
                try? sink.setDefaultPermissions()
                sink.close()
                do throws(SystemError) {
                    try FileSystem.rename(temp, to: finalTarget)
                } catch {
                    throw DFSError(.ioError, "cannot rename into \(finalTarget): \(error.reason)")
                }
            }
        } catch {
            sink.close()
            FileSystem.removeQuietly(temp)
            throw error
        }
        return file.info
    }

    /// Reads one block from the first replica that serves all of it intact, handing each
    /// verified piece to `consume` with its offset in the block; a replica slow to start is
    /// hedged with another (see ``readHedged(_:range:buffers:_:failed:)``). A replica that serves
    /// wrong bytes, or says it does not have the block, is reported to the meta server. When
    /// a replica fails midway, the next one is read from the start and `consume` sees the
    /// early bytes again: consumers that cannot take them twice skip them. With `range` (its
    /// start a multiple of ``Limits/pieceBytes``), only those bytes of the block are read,
    /// each piece checked against its CRC32C; offsets handed to `consume` are still in the
    /// block.
    func readBlock(
        _ block: BlockLocation, of path: DFSPath, range: Range<Int>? = nil, buffers: PayloadBuffers,
        _ consume: @escaping @Sendable (Int, [UInt8]) async throws -> Void
    ) async throws {
        var failures: [String] = []
        var onlyUnreachable = true
        // A failure of `consume` (our side: a full disk, a closed pipe) is thrown as it is:
        // another replica would not help.
        let read = try await readHedged(block, range: range ?? 0..<block.length, buffers: buffers, consume) { replica, error in
            failures.append("\(replica.address): \(error.message)")
            if error.code != .connectionFailed && error.code != .timeout { onlyUnreachable = false }
            if error.code == .checksumMismatch || error.code == .notFound {
                _ = try? await metaRequest(
                    ReportBadReplica(blockID: block.blockID, nodeID: replica.nodeID, reason: error.message), expecting: OK.self)
            }
        }
        if read { return }
        let reasons = failures.isEmpty ? "no replica is known" : failures.joined(separator: "; ")
        // When no replica could be reached (nodes restarting, perhaps at new addresses the
        // meta server learns when they register), the file's read may pass if tried again
        // with fresh locations: the failure is transient, and the download retries.
        throw DFSError(
            .unavailable, "cannot read block \(block.blockIndex) (id \(block.blockID)) of \(path): \(reasons)",
            transient: onlyUnreachable && !failures.isEmpty ? true : nil)
    }

    /// Receives `range` of a block (all of it unless told), checking every piece against the
    /// checksums that come with it and, when the range is the whole block, the block against
    /// the checksum the meta server recorded.
    func receiveBlock(
        _ block: BlockLocation, range: Range<Int>? = nil, from connection: Connection, buffers: PayloadBuffers,
        _ consume: @Sendable (Int, [UInt8]) async throws -> Void
    ) async throws {
        let range = range ?? 0..<block.length
        guard range.lowerBound >= 0, range.upperBound <= block.length, range.lowerBound % Limits.pieceBytes == 0 else {
            throw DFSError(.invalidArgument, "range \(range) of block \(block.blockID) (\(block.length) bytes) does not start at a piece inside it")
        }
        let whole = range == 0..<block.length
        // A node that does not answer, or stops sending, for its stall time is hung: the read
        // fails over to another replica in seconds, not after a whole request's timeout.
        let stall = timeouts.stall
        let request =
            whole
            ? ReadBlock(blockID: block.blockID, token: block.token)
            : ReadBlock(blockID: block.blockID, offset: range.lowerBound, length: range.count, token: block.token)
        let reply = try await connection.request(request, expecting: ReadBlockOK.self, timeout: stall)
        guard reply.length == range.count, reply.blockLength == block.length else {
            throw DFSError(.checksumMismatch, "replica has \(reply.blockLength) bytes, expected \(block.length)")
        }
        var received = 0
        var checksum = CRC32C()
        // Each frame's payload, once consumed, takes the next one; the last goes back to the
        // transfer's buffers for its next block.
        var spare = buffers.take()
        defer { buffers.give(spare.take()) }
        while received < range.count {
            guard let frame = try await connection.readFrame(timeout: stall, reusing: spare.take()) else {
                throw DFSError(.connectionFailed, "\(connection.name) closed the connection after \(received) of \(range.count) bytes")
            }
            let data = try frame.reply(BlockData.self)
            guard frame.payload.count <= range.count - received else {
                throw DFSError(.protocolError, "\(connection.name) sent more than the \(range.count) bytes asked for")
            }
            let frameChecksum = try data.verify(frame.payload, what: "block \(block.blockID) from \(connection.name)")
            checksum.append(checksum: frameChecksum, length: frame.payload.count)
            do {
                try await consume(range.lowerBound + received, frame.payload)
            } catch {
                throw ConsumerFailure(underlying: error)
            }
            received += frame.payload.count
            spare = frame.payload
        }
        guard !whole || checksum.value == block.checksum else {
            throw DFSError(.checksumMismatch, "block \(block.blockID) from \(connection.name) has checksum \(checksum.value), expected \(block.checksum)")
        }
    }

    /// Writes a file's bytes to `output` in order, one block at a time, as they arrive and are
    /// verified: for `dfs cat`. Memory stays at one frame whatever the size.
    public func stream(_ path: DFSPath, to output: @escaping @Sendable ([UInt8]) async throws -> Void) async throws {
        try await stream(try await stat(path), path: path, to: output)
    }

    /// ``stream(_:to:)`` of a file whose metadata the caller has already (``stat(_:)-([DFSPath])``
    /// of many paths at once).
    public func stream(_ file: GetFileOK, path: DFSPath, to output: @escaping @Sendable ([UInt8]) async throws -> Void) async throws {
        guard file.info.type == .file else {
            throw DFSError(.isADirectory, "\(path) is a folder")
        }
        let hasher = Mutex(file.info.sha256 != nil ? SHA256() : nil)
        let crc = Mutex(CRC32C())
        let buffers = PayloadBuffers(limit: 1)
        for block in file.blocks {
            // Bytes already written from a replica that failed midway are not written again.
            let written = Mutex(0)
            try await readBlock(block, of: path, buffers: buffers) { offset, bytes in
                let already = written.withLock { $0 }
                let end = offset + bytes.count
                guard end > already else { return }
                let fresh = Array(bytes[(already - offset)...])
                crc.withLock { $0.update(fresh) }
                hasher.withLock { $0?.update(data: fresh) }
                try await output(fresh)
                written.withLock { $0 = end }
            }
        }
        // Every piece was checked on arrival; the whole-file checksums catch a wrong block list.
        let sha256 = hasher.withLock { $0.map { Hex.encode($0.finalize()) } }
        try Self.check(path, "stream", crc32c: crc.withLock { $0.value }, sha256: sha256, against: file.info)
    }

    /// Compares a copy's whole-file checksums with those the cluster recorded, where it
    /// recorded them.
    static func check(_ path: DFSPath, _ what: String, crc32c: UInt32, sha256: String?, against info: FileInfo) throws {
        if let expected = info.crc32c, expected != crc32c {
            throw DFSError(.checksumMismatch, "\(path): the \(what)'s CRC32C is \(Hex.crc32c(crc32c)), the cluster recorded \(Hex.crc32c(expected))")
        }
        if let expected = info.sha256, let sha256, expected != sha256 {
            throw DFSError(.checksumMismatch, "\(path): the \(what)'s SHA-256 is \(sha256), the cluster recorded \(expected)")
        }
    }
}

/// An error of whoever takes a block's bytes, not of the replica that sent them.
struct ConsumerFailure: Error {
    var underlying: any Error
}
