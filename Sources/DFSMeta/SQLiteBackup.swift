import CSQLite
import DFSCore

/// SQLite's online backup: copies one database into another page by page
/// (`sqlite3_backup_init`, `sqlite3_backup_step`, `sqlite3_backup_finish`).
///
/// The source stays usable between steps. When it changes through the same connection
/// that the backup reads (the meta server's own), SQLite updates the pages already copied
/// as it writes them, so the finished copy is the source as of the last step; a change made
/// through another connection would restart the copy instead.
///
/// Not thread-safe: the owner of the source connection (``MetaStore``) makes every call on
/// its own queue.
final class SQLiteBackup {
    /// What one step did.
    enum Progress {
        /// Every page is copied: call ``finish()``.
        case done
        /// Pages remain.
        case more
        /// A lock held by another connection or process kept the step from running; try again
        /// a little later.
        case busy
    }

    private var raw: OpaquePointer?
    private let source: SQLiteDatabase
    private let target: SQLiteDatabase

    /// Starts copying the `main` database of `source` into that of `target`
    /// (`sqlite3_backup_init`). Errors are reported on the target connection.
    init(from source: SQLiteDatabase, to target: SQLiteDatabase) throws(DFSError) {
        self.source = source
        self.target = target
        guard let raw = sqlite3_backup_init(target.handle, "main", source.handle, "main") else {
            throw target.error("cannot start a backup")
        }
        self.raw = raw
    }

    deinit {
        if let raw { sqlite3_backup_finish(raw) }
    }

    /// Copies at most `pages` more pages (`sqlite3_backup_step`).
    func step(pages: Int) throws(DFSError) -> Progress {
        precondition(pages > 0, "a backup step copies at least one page")
        switch sqlite3_backup_step(raw, Int32(clamping: pages)) {
        case SQLITE_DONE: return .done
        case SQLITE_OK: return .more
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        default: throw target.error("backup step failed")
        }
    }

    /// Pages still to copy, as of the last step (`sqlite3_backup_remaining`).
    var remainingPages: Int { Int(sqlite3_backup_remaining(raw)) }

    /// Pages of the source, as of the last step (`sqlite3_backup_pagecount`).
    var pageCount: Int { Int(sqlite3_backup_pagecount(raw)) }

    /// Ends the backup and releases its resources (`sqlite3_backup_finish`); throws the
    /// error of a step that failed.
    func finish() throws(DFSError) {
        guard let raw else { return }
        self.raw = nil
        guard sqlite3_backup_finish(raw) == SQLITE_OK else { throw target.error("backup failed") }
    }
}
