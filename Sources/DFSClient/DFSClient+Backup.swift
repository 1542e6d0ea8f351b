import DFSCore
import DFSNet
import DFSSystem
import Foundation

extension DFSClient {
    /// Asks the meta server for a consistent copy of its database (`backup`) and writes it to
    /// `path`, which `dfs serve-meta --db` can then serve as it is. Returns what the server
    /// said of the copy: its size, its files, its checksum.
    ///
    /// The bytes go into a temp file in the target's folder, are checked against the
    /// server's CRC32C, flushed, and only then take the target's name (then the folder is
    /// flushed), so `path` is either the whole, checked copy or untouched. Without
    /// `overwrite`, an existing `path` is refused (`alreadyExists`), before anything is
    /// asked of the server and again just before the rename.
    public func backupMeta(to path: String, overwrite: Bool) async throws -> BackupOK {
        try Self.refuseExisting(path, overwrite: overwrite)
        let target = URL(fileURLWithPath: path)
        let folder = target.deletingLastPathComponent().path
        // A failure that may pass (the server restarting, a connection cut) starts the copy
        // over: a backup reads and changes nothing.
        return try await retrier.run("backup") { _ in
            try await pool.withConnection(to: metaServers) { connection in
                let temp = URL(fileURLWithPath: folder)
                    .appendingPathComponent(".\(target.lastPathComponent).dfs-\(UInt32.random(in: 0...UInt32.max)).tmp").path
                let sink = try await BlockingIO.run { try LocalFile(creatingAt: temp) }
                do {
                    let summary = try await self.receiveBackup(on: connection, into: sink)
                    try await BlockingIO.run {
                        try sink.sync()
                        sink.close()
                        try Self.refuseExisting(path, overwrite: overwrite)
                        do throws(SystemError) {
                            try FileSystem.renameAndSyncFolder(temp, to: path)
                        } catch {
                            throw DFSError(.ioError, "cannot name the backup \(path): \(error.reason)")
                        }
                    }
                    return summary
                } catch {
                    sink.close()
                    FileSystem.removeQuietly(temp)
                    throw error
                }
            }
        }
    }

    /// Sends `backup` and writes the copy that comes back into `sink`, checking its length
    /// and CRC32C against the server's reply.
    private func receiveBackup(on connection: Connection, into sink: LocalFile) async throws -> BackupOK {
        let timeout = timeouts.request
        try await connection.send(BackupRequest(), timeout: timeout)
        let (summary, _) = try await connection.readReply(BackupOK.self, timeout: timeout)
        var checksum = CRC32C()
        var received = 0
        while received < summary.bytes {
            let (_, frame) = try await connection.readReply(BackupData.self, timeout: timeout)
            let payload = frame.payload
            guard !payload.isEmpty, payload.count <= summary.bytes - received else {
                throw DFSError(
                    .protocolError, "the meta server sent \(payload.count) bytes of backup with \(summary.bytes - received) to come")
            }
            checksum.update(payload)
            let offset = received
            try await BlockingIO.run { try sink.write(payload, at: offset) }
            received += payload.count
            progress?(payload.count)
        }
        guard checksum.value == summary.crc32c else {
            throw DFSError(
                .checksumMismatch,
                "the backup's CRC32C is \(Hex.crc32c(checksum.value)), the meta server stated \(Hex.crc32c(summary.crc32c))")
        }
        return summary
    }

    private static func refuseExisting(_ path: String, overwrite: Bool) throws {
        if !overwrite && FileSystem.exists(path) {
            throw DFSError(.alreadyExists, "\(path) exists already")
        }
    }
}
