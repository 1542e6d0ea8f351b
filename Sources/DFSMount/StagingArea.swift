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

    /// The file beside a staged file that names the cluster path it is for.
    static func notePath(of stagedPath: String) -> String { stagedPath + ".path" }

    /// The prefix of every mount's staging folder, followed by its process id.
    static let folderPrefix = "dfs-mount-"

    /// A staging folder's name for the mount process `processID`.
    static func folderName(processID: pid_t) -> String {
        folderPrefix + "\(processID)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Files staged in `cacheFolder` by mount processes that are gone (killed before they
    /// could upload): each staged file with the cluster path it was for, and its size.
    /// They are left where they are for the user to copy in; the caller reports them.
    static func leftovers(in cacheFolder: String) -> [(stagedPath: String, clusterPath: String, bytes: Int)] {
        var found: [(String, String, Int)] = []
        for name in (try? FileSystem.contentsOfFolder(cacheFolder)) ?? [] where name.hasPrefix(folderPrefix) {
            let digits = name.dropFirst(folderPrefix.count).prefix { $0.isNumber }
            guard let processID = pid_t(digits), kill(processID, 0) != 0, errno == ESRCH else { continue }
            let folder = cacheFolder + "/" + name
            for file in (try? FileSystem.contentsOfFolder(folder)) ?? [] where !file.hasSuffix(".path") {
                let staged = folder + "/" + file
                let clusterPath = (try? FileSystem.contents(of: notePath(of: staged))).map { String(decoding: $0, as: UTF8.self) } ?? "?"
                found.append((staged, clusterPath, (try? FileSystem.status(staged).size) ?? 0))
            }
        }
        return found
    }

    /// Removes the folder and whatever is left in it, at unmount.
    func removeFolder() {
        try? FileSystem.removeTree(folder)
    }
}
