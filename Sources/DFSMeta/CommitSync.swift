import DFSCore
import DFSSystem
import Foundation

/// Group commit for the meta store's SQLite database.
///
/// SQLite runs in WAL mode with `synchronous=NORMAL`: a commit appends to the write-ahead
/// log without an fsync, and stays consistent after a crash but may be missing. This type
/// supplies the durability: before a reply leaves the server, everything committed so far is
/// made durable with one `fdatasync` of the log, shared by every request that waits at the
/// same time. So no client hears of a change that a power loss could take back, and a
/// busy server pays one disk flush per batch of commits instead of one per commit.
///
/// Checkpoints (log into the database file) stay SQLite's: in WAL mode it syncs the log
/// before a checkpoint and the database after it, and only then starts the log over.
final class CommitSync: Sendable {
    private struct Counts {
        /// Commits that finished (their log writes done).
        var committed: UInt64 = 0
        /// Commits known to be on disk.
        var synced: UInt64 = 0
        /// A sync failed: what is in the log may not be on disk, and no later sync proves it.
        var failure: DFSError?
        /// Disk flushes so far.
        var passes = 0
    }

    private let counts = Mutex(Counts())
    private let walPath: String
    private let folderPath: String
    private let walFile = Mutex<OpenFile?>(nil)
    private let batcher: Batcher<Void, Void>
    /// Told how long each disk flush took (the server's metrics).
    let onSync = Mutex<(@Sendable (Duration) -> Void)?>(nil)

    /// For the database at `databasePath` (its log is `databasePath-wal`).
    init(databasePath: String) {
        walPath = databasePath + "-wal"
        folderPath =
            (databasePath as NSString).deletingLastPathComponent.isEmpty
            ? "." : (databasePath as NSString).deletingLastPathComponent
        // The batcher's closure reaches back weakly: the store owns this object, not the batcher.
        let holder = Mutex<WeakCommitSync>(WeakCommitSync())
        batcher = Batcher(label: "dfs.meta-commit-sync") { requests in
            guard let sync = holder.withLock({ $0.value }) else {
                return requests.map { _ in .failure(DFSError(.internalError, "commit sync is gone")) }
            }
            let outcome = sync.syncOnce()
            return requests.map { _ in outcome }
        }
        holder.withLock { $0.value = self }
    }

    deinit {
        walFile.withLock { $0?.close() }
    }

    /// Counts a finished commit; called on the store's queue right after SQLite returns.
    func noteCommit() {
        counts.withLock { $0.committed += 1 }
    }

    /// Commits counted, commits on disk, and disk flushes so far.
    var progress: (committed: UInt64, synced: UInt64, passes: Int) {
        counts.withLock { ($0.committed, $0.synced, $0.passes) }
    }

    /// True when every commit so far is on disk (or a sync failed: the wait then throws).
    var isCaughtUp: Bool {
        counts.withLock { $0.failure == nil && $0.synced >= $0.committed }
    }

    /// Returns once everything committed before the call is on disk.
    func waitUntilDurable() async throws {
        let pending = try counts.withLock { counts -> Bool in
            if let failure = counts.failure { throw failure }
            return counts.synced < counts.committed
        }
        if pending { try await batcher.submit(()) }
    }

    /// One pass: the log, and the first time its folder entry, to disk.
    private func syncOnce() -> Result<Void, DFSError> {
        let target = counts.withLock { $0.committed }
        let started = ContinuousClock.now
        defer {
            let took = ContinuousClock.now - started
            onSync.withLock { $0 }?(took)
        }
        let result = walFile.withLock { opened -> Result<Void, DFSError> in
            let file: OpenFile
            if let opened {
                file = opened
            } else {
                do throws(SystemError) {
                    file = try OpenFile.openForReading(walPath)
                } catch {
                    return .failure(DFSError(.ioError, "cannot open \(walPath) to sync it: \(error.reason)"))
                }
                opened = file
                // The log file's name must survive a crash too; best effort.
                try? FileSystem.syncFolder(folderPath)
            }
            do throws(SystemError) {
                try file.syncData()
            } catch {
                return .failure(
                    DFSError(.ioError, "cannot sync the database log \(walPath): \(error.reason); restart the meta server once the disk is checked"))
            }
            return .success(())
        }
        counts.withLock { counts in
            switch result {
            case .success:
                counts.synced = max(counts.synced, target)
                counts.passes += 1
            case .failure(let error): counts.failure = counts.failure ?? error
            }
        }
        return result
    }
}

private struct WeakCommitSync {
    weak var value: CommitSync?
}
