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
            try await BlockingIO.run { try sink.sync() }
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

    /// Reads one block from the first replica that serves all of it.
    private func readBlock(_ block: BlockLocation, of path: DFSPath, into sink: LocalFile, at offset: Int) async throws {
        var failures: [String] = []
        for replica in block.replicas {
            do {
                try await pool.withConnection(to: replica.address) { connection in
                    try await self.receiveBlock(block, from: connection, into: sink, at: offset)
                }
                return
            } catch {
                failures.append("\(replica.address): \(DFSError.wrap(error).message)")
            }
        }
        let reasons = failures.isEmpty ? "no replica is known" : failures.joined(separator: "; ")
        throw DFSError(.unavailable, "cannot read block \(block.blockIndex) (id \(block.blockID)) of \(path): \(reasons)")
    }

    private func receiveBlock(_ block: BlockLocation, from connection: Connection, into sink: LocalFile, at offset: Int) async throws {
        let reply = try await connection.request(ReadBlock(blockID: block.blockID), expecting: ReadBlockOK.self, timeout: timeouts.request)
        guard reply.length == block.length, reply.blockLength == block.length else {
            throw DFSError(.checksumMismatch, "replica has \(reply.blockLength) bytes, expected \(block.length)")
        }
        var received = 0
        while received < block.length {
            guard let frame = try await connection.readFrame(timeout: timeouts.request) else {
                throw DFSError(.connectionFailed, "\(connection.name) closed the connection after \(received) of \(block.length) bytes")
            }
            _ = try frame.reply(BlockData.self)
            guard frame.payload.count <= block.length - received else {
                throw DFSError(.protocolError, "\(connection.name) sent more than the block's \(block.length) bytes")
            }
            let position = offset + received
            let payload = frame.payload
            try await BlockingIO.run { try sink.write(payload, at: position) }
            received += payload.count
        }
    }
}
