import DFSCore
import DFSNet
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension DFSClient {
    /// Reads `path` into a local file.
    ///
    /// Blocks are read in parallel into a temp file beside the target, each from the first
    /// replica that serves it whole; the temp file is fsynced and renamed over the target only
    /// when every byte has arrived. On failure no local file is left behind. When `localPath`
    /// is an existing folder, the file goes inside it under its own name, as `cp` does.
    @discardableResult
    public func download(_ path: DFSPath, to localPath: String) async throws -> FileInfo {
        let file = try await stat(path)
        guard file.info.type == .file else {
            throw DFSError(.isADirectory, "\(path) is a folder; copy a file")
        }
        var target = localPath
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: localPath, isDirectory: &isFolder), isFolder.boolValue {
            target = URL(fileURLWithPath: localPath).appendingPathComponent(path.name).path
        }
        let targetURL = URL(fileURLWithPath: target)
        let folder = targetURL.deletingLastPathComponent().path
        let temp = URL(fileURLWithPath: folder)
            .appendingPathComponent(".\(targetURL.lastPathComponent).dfs-\(UInt32.random(in: 0...UInt32.max)).tmp").path
        let sink = try LocalFile(creatingAt: temp)
        do {
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
            _ = try await forEachBlock(count: file.blocks.count) { blockIndex in
                try await self.readBlock(file.blocks[blockIndex], of: path, into: sink, at: blockOffsets[blockIndex])
            }
            // The last check: the bytes on disk, read back in order, are the file the cluster
            // recorded. Only then does the copy take the target's name.
            let size = file.info.size
            let digest = try await BlockingIO.run { () throws -> String in
                try sink.sync()
                return try FileDigest.sha256(of: sink, size: size)
            }
            if let expected = file.info.sha256, expected != digest {
                throw DFSError(.checksumMismatch, "\(path): the copy's SHA-256 is \(digest), the cluster recorded \(expected)")
            }
            fchmod(sink.fd, 0o644)
            sink.close()
            guard rename(temp, target) == 0 else {
                throw DFSError(.ioError, "cannot rename into \(target): \(String(cString: strerror(errno)).lowercased())")
            }
        } catch {
            sink.close()
            unlink(temp)
            throw error
        }
        return file.info
    }

    /// Reads one block from the first replica that serves all of it intact. A replica that
    /// serves wrong bytes, or says it does not have the block, is reported to the meta server.
    private func readBlock(_ block: BlockLocation, of path: DFSPath, into sink: LocalFile, at offset: Int) async throws {
        var failures: [String] = []
        for replica in block.replicas {
            do {
                try await pool.withConnection(to: replica.address) { connection in
                    try await self.receiveBlock(block, from: connection, into: sink, at: offset)
                }
                return
            } catch {
                let error = DFSError.wrap(error)
                failures.append("\(replica.address): \(error.message)")
                if error.code == .checksumMismatch || error.code == .notFound {
                    _ = try? await metaRequest(
                        ReportBadReplica(blockID: block.blockID, nodeID: replica.nodeID, reason: error.message), expecting: OK.self)
                }
            }
        }
        let reasons = failures.isEmpty ? "no replica is known" : failures.joined(separator: "; ")
        throw DFSError(.unavailable, "cannot read block \(block.blockIndex) (id \(block.blockID)) of \(path): \(reasons)")
    }

    /// Receives a block, checking every piece against the checksums that come with it and the
    /// whole block against the checksum the meta server recorded.
    private func receiveBlock(_ block: BlockLocation, from connection: Connection, into sink: LocalFile, at offset: Int) async throws {
        let reply = try await connection.request(ReadBlock(blockID: block.blockID), expecting: ReadBlockOK.self, timeout: timeouts.request)
        guard reply.length == block.length, reply.blockLength == block.length else {
            throw DFSError(.checksumMismatch, "replica has \(reply.blockLength) bytes, expected \(block.length)")
        }
        var received = 0
        var checksum = CRC32C()
        while received < block.length {
            guard let frame = try await connection.readFrame(timeout: timeouts.request) else {
                throw DFSError(.connectionFailed, "\(connection.name) closed the connection after \(received) of \(block.length) bytes")
            }
            let data = try frame.reply(BlockData.self)
            guard frame.payload.count <= block.length - received else {
                throw DFSError(.protocolError, "\(connection.name) sent more than the block's \(block.length) bytes")
            }
            try data.verify(frame.payload, what: "block \(block.blockID) from \(connection.name)")
            checksum.update(frame.payload)
            let position = offset + received
            let payload = frame.payload
            try await BlockingIO.run { try sink.write(payload, at: position) }
            received += payload.count
        }
        guard checksum.value == block.checksum else {
            throw DFSError(.checksumMismatch, "block \(block.blockID) from \(connection.name) has checksum \(checksum.value), expected \(block.checksum)")
        }
    }
}
