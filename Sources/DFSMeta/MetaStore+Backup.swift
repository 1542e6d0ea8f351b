import DFSCore
import DFSSystem
import Foundation

/// Consistent copies of the database while the server keeps serving (`dfs meta-backup`).
///
/// ``backUp(to:pagesPerStep:)`` copies with SQLite's online backup on the store's queue, a
/// bounded number of pages per step, and lets every request waiting on the queue run between
/// steps; ``checkBackup(at:)`` then makes the copy one self-contained file and checks it, off
/// the queue, on the blocking-I/O threads.
extension MetaStore {
    /// Pages copied per step: 256 pages of 4 KiB, 1 MiB, take about a millisecond, so a
    /// request that arrives during a backup waits about that long for its turn.
    public static let backupPagesPerStep = 256

    /// Where the server makes the copy of the database at `databasePath`: next to it, under
    /// one fixed name (one backup runs at a time, and a server that starts removes what a
    /// crash left there); for a database in memory, a new name in the temp folder.
    public static func backupPath(forDatabase databasePath: String) -> String {
        if databasePath == ":memory:" {
            return FileManager.default.temporaryDirectory
                .appendingPathComponent("dfs-meta-backup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        }
        return databasePath + ".backup-in-progress"
    }

    /// What `meta-backup` says to a server whose database is in PostgreSQL.
    static func postgresBackupRefusal(_ location: String) -> DFSError {
        DFSError(
            .invalidArgument,
            "this meta server keeps its namespace in PostgreSQL (\(location)); back it up with PostgreSQL's own tools: pg_dump for a snapshot, or pg_basebackup with WAL archiving for point-in-time recovery (see Docs/OPERATIONS.md)"
        )
    }

    /// Removes a copy at `path` and the journal files SQLite may have made beside it.
    public static func removeBackupFiles(at path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { FileSystem.removeQuietly(path + suffix) }
    }

    /// Copies the database into a new file at `path` (which must not exist), as it is when
    /// the last step runs: changes committed during the copy, through this store, are in it.
    ///
    /// Each step copies at most `pagesPerStep` pages and then yields the queue, so requests
    /// keep being served while a large database is copied.
    ///
    /// `afterStep`, when given, runs after each step that left pages to copy, with the
    /// number of steps done, while the queue is free.
    public func backUp(
        to path: String, pagesPerStep: Int = MetaStore.backupPagesPerStep,
        afterStep: (@Sendable (Int) async throws -> Void)? = nil
    ) async throws {
        guard let source = sqlite else { throw Self.postgresBackupRefusal(database.path) }
        let target = try SQLiteDatabase(path: path)
        // The copy's own durability is its reader's business (the client syncs what it
        // writes); a sync per step would only hold the queue longer.
        try target.execute("PRAGMA synchronous=OFF")
        let backup = try SQLiteBackup(from: source, to: target)
        var busySince: ContinuousClock.Instant?
        var steps = 0
        while true {
            try Task.checkCancellation()
            switch try backup.step(pages: pagesPerStep) {
            case .done:
                try backup.finish()
                return
            case .more:
                busySince = nil
                steps += 1
                await Task.yield()
                if let afterStep { try await afterStep(steps) }
            case .busy:
                // Only another process that opened the database file can hold a lock this
                // connection does not: wait as long as a statement would, then fail.
                let since = busySince ?? .now
                busySince = since
                if ContinuousClock.now - since > .milliseconds(Self.lockWaitMilliseconds) {
                    throw DFSError(.unavailable, "database \(database.path) stayed locked by another process during the backup")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// Makes the copy at `path` self-contained and checks it, then describes it for the
    /// reader. Blocking: run it on the blocking-I/O threads, never on the store's queue.
    ///
    /// The copy took its header from the live database, which is in WAL mode, so it would
    /// open in WAL mode too and could leave a `-wal` file beside it: it is switched back to
    /// a rollback journal, which leaves the whole database in the one file. A copy that
    /// fails `PRAGMA integrity_check` is an internal error and is not sent.
    public static func checkBackup(at path: String) throws -> BackupOK {
        let (files, schemaVersion) = try checkCopy(at: path)
        for suffix in ["-wal", "-journal"] where FileSystem.exists(path + suffix) {
            throw DFSError(.internalError, "the backup copy left \(path + suffix) beside it")
        }
        let file: OpenFile
        do throws(SystemError) {
            file = try OpenFile.openForReading(path)
        } catch {
            throw DFSError(.ioError, "cannot read the backup copy \(path): \(error.reason)")
        }
        defer { file.close() }
        var checksum = CRC32C()
        var offset = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Limits.backupFrameBytes, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count: Int
            do throws(SystemError) {
                count = try file.read(into: buffer, at: offset)
            } catch {
                throw DFSError(.ioError, "cannot read the backup copy \(path): \(error.reason)")
            }
            if count == 0 { break }
            checksum.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += count
        }
        return BackupOK(bytes: offset, files: files, crc32c: checksum.value, schemaVersion: schemaVersion)
    }

    /// The copy's own checks, on a connection of its own that is closed on return.
    private static func checkCopy(at path: String) throws(DFSError) -> (files: Int, schemaVersion: Int) {
        let copy = try SQLiteDatabase(path: path)
        let mode = try copy.query("PRAGMA journal_mode=DELETE") { $0.text(0) }.first
        guard mode == "delete" else {
            throw DFSError(.internalError, "the backup copy stayed in journal mode \(mode ?? "unknown")")
        }
        let problems = try copy.query("PRAGMA integrity_check") { $0.text(0) }
        guard problems == ["ok"] else {
            throw DFSError(.internalError, "the backup copy failed its integrity check: \(problems.prefix(3).joined(separator: "; "))")
        }
        let files = try copy.query("SELECT count(*) FROM files WHERE complete = 1") { $0.int(0) }.first ?? 0
        let schemaVersion = try copy.query("PRAGMA user_version") { $0.int(0) }.first ?? 0
        return (files, schemaVersion)
    }
}
