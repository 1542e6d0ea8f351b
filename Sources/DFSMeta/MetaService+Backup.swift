import DFSCore
import DFSNet
import DFSPostgres
import DFSSystem
import Foundation

/// `backup`: a consistent copy of the whole database, made while requests go on being
/// served, checked, and streamed to the client that asked.
///
/// The copy is made next to the database (``MetaStore/backupPath(forDatabase:)``) and
/// removed however the request ends: sent, failed, or cut off by a client that went away.
/// Any client with the cluster secret may ask: members are trusted with the namespace.
extension MetaService {
    func backup(on connection: isolated Connection) async throws {
        let path = try await beginBackup()
        do {
            let summary = try await makeBackup(at: path)
            try await sendBackup(summary, from: path, on: connection)
            Log.info(MetaServer.component, "sent a backup of \(summary.bytes) bytes (\(summary.files) files) to \(connection.peer)")
        } catch {
            await endBackup(at: path)
            throw error
        }
        await endBackup(at: path)
    }

    /// Takes the one backup slot, or refuses a second backup while one runs.
    private func beginBackup() throws(DFSError) -> String {
        if PostgresURI.isPostgres(options.databasePath) {
            throw MetaStore.postgresBackupRefusal(PostgresURI.redacted(options.databasePath))
        }
        guard !backupUnderWay else {
            throw DFSError(.unavailable, "a backup of this meta server is under way already; try again when it has finished")
        }
        backupUnderWay = true
        let path = MetaStore.backupPath(forDatabase: options.databasePath)
        MetaStore.removeBackupFiles(at: path)
        return path
    }

    /// Copies the database step by step, then checks the copy off the store's queue.
    private func makeBackup(at path: String) async throws -> BackupOK {
        let started = ContinuousClock.now
        try await store.backUp(to: path)
        let summary = try await BlockingIO.run { try MetaStore.checkBackup(at: path) }
        Log.info(
            MetaServer.component,
            "made a backup of \(summary.bytes) bytes (\(summary.files) files) in \(ContinuousClock.now - started)")
        return summary
    }

    /// The reply, then the copy in frames of at most ``Limits/backupFrameBytes``, each from
    /// the file by sendfile(2) (read and encrypted instead, with a secret).
    private func sendBackup(_ summary: BackupOK, from path: String, on connection: isolated Connection) async throws {
        let file: OpenFile
        do throws(SystemError) {
            file = try OpenFile.openForReading(path)
        } catch {
            throw DFSError(.ioError, "cannot read the backup copy \(path): \(error.reason)")
        }
        defer { file.close() }
        let timeout = options.timeouts.request
        try await connection.send(summary, timeout: timeout)
        var sent = 0
        while sent < summary.bytes {
            try Task.checkCancellation()
            let count = min(Limits.backupFrameBytes, summary.bytes - sent)
            try await connection.send(BackupData(), file: file.fd, offset: sent, count: count, timeout: timeout)
            sent += count
        }
    }

    /// Removes the copy and frees the slot.
    private func endBackup(at path: String) {
        MetaStore.removeBackupFiles(at: path)
        backupUnderWay = false
    }
}
