import DFSCore
import DFSSystem
import Foundation

/// The local folder where files open for writing are staged, and the bytes they may take.
///
/// Files in the cluster are immutable once complete, so a write through the mount goes to a
/// local file first and the whole file is uploaded when it is closed or synced. The folder
/// is the mount's own (made at start, removed at unmount); its staged bytes are bounded by
/// `--cache-size`: a write that would pass the bound fails with ENOSPC.
final class StagingArea: Sendable {
    let folder: String
    let capacityBytes: Int
    private let state = Mutex((usedBytes: 0, nextNumber: 0))

    init(folder: String, capacityBytes: Int) throws {
        self.folder = folder
        self.capacityBytes = capacityBytes
        do {
            try FileSystem.makeFolders(folder, permissions: [.ownerReadWriteExecute])
        } catch {
            throw DFSError(.ioError, "cannot make the staging folder \(folder): \(error.reason)")
        }
    }

    /// A fresh path in the folder for one staged file.
    func newPath() -> String {
        let number = state.withLock { state in
            state.nextNumber += 1
            return state.nextNumber
        }
        return folder + "/staged-\(number)"
    }

    /// Takes `bytes` more of the budget, or throws ENOSPC when they do not fit.
    func reserve(_ bytes: Int) throws {
        guard bytes > 0 else { return }
        try state.withLock { state in
            guard state.usedBytes + bytes <= capacityBytes else {
                throw MountError(
                    ENOSPC, "the staging cache holds \(state.usedBytes) bytes of files open for writing; --cache-size is \(capacityBytes)")
            }
            state.usedBytes += bytes
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        state.withLock { $0.usedBytes -= bytes }
    }

    var usedBytes: Int { state.withLock { $0.usedBytes } }

    /// Removes the folder and whatever is left in it, at unmount.
    func removeFolder() {
        try? FileSystem.removeTree(folder)
    }
}
