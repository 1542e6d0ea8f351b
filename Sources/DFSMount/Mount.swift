import CFuse
import DFSClient
import DFSCore
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A cluster folder mounted as a local folder: what `dfs mount` runs.
///
/// ``start(client:mountpoint:options:source:)`` checks the cluster folder, cleans up a stale
/// mount left by a mount process that died, makes the staging folder, mounts and starts
/// serving; ``waitUntilUnmounted()`` returns when the mount is gone (unmounted from outside,
/// or by ``unmount()``); ``close()`` frees what the mount held.
public final class Mount: Sendable {
    public let mountpoint: String
    private let session: FuseSession
    private let staging: StagingArea

    private init(mountpoint: String, session: FuseSession, staging: StagingArea) {
        self.mountpoint = mountpoint
        self.session = session
        self.staging = staging
    }

    /// Mounts `options.root` of the cluster `client` talks to on `mountpoint`. `source`
    /// names the cluster in the mount table (`dfs#HOST:PORT:/PATH`).
    public static func start(client: DFSClient, mountpoint: String, options: MountOptions, source: String) async throws -> Mount {
        limitMallocArenas()
        if MountTable.isStale(mountpoint) {
            Log.warn("mount", "\(mountpoint) is a mount whose process is gone; unmounting it first")
            MountTable.unmount(mountpoint, lazily: true)
        }
        guard let status = try? FileSystem.status(mountpoint), status.kind == .folder else {
            throw DFSError(.notADirectory, "the mountpoint \(mountpoint) is not a folder; make it with mkdir")
        }
        let root = try await client.stat(options.root)
        guard root.info.type == .dir else {
            throw DFSError(.notADirectory, "\(options.root) is a file; mount a folder of the cluster")
        }
        await uploadLeftovers(client: client, options: options)
        let staging = try StagingArea(
            folder: options.cacheFolder + "/" + StagingArea.folderName(processID: getpid()), capacityBytes: options.cacheBytes)
        let service = MountService(client: client, options: options, staging: staging)
        let context = FuseContext(service: service, requestsInFlightMax: options.requestsInFlightMax)
        // default_permissions: the kernel checks every access against the mode bits and owner
        // the mount shows (the cluster's), as for a local file system, so that allow_other lets
        // other users in without letting them past the modes.
        var mountOptions = ["fsname=\(source.replacingOccurrences(of: ",", with: ";"))", "subtype=dfs", "default_permissions"]
        if options.readOnly { mountOptions.append("ro") }
        if options.allowOther { mountOptions.append("allow_other") }
        let session: FuseSession
        do {
            session = try FuseSession(mountpoint: mountpoint, mountOptions: mountOptions, context: context)
        } catch {
            staging.removeFolder()
            throw error
        }
        session.startReaders(options.readerThreads)
        widenReadAhead(mountpoint)
        return Mount(mountpoint: mountpoint, session: session, staging: staging)
    }

    /// The kernel reads ahead of a reader of a FUSE mount in 128 KiB (its devices' default,
    /// which the FUSE init cannot raise), so a file read in order comes as 128 KiB requests,
    /// each a round trip through the mount. 1 MiB (the largest read libfuse takes) cuts the
    /// mount's CPU for a large read by about a fifth. The setting is the mount's device's in
    /// sysfs, which only root may change: otherwise the default stays.
    private static func widenReadAhead(_ mountpoint: String) {
        guard let device = MountTable.device(of: mountpoint) else { return }
        let path = "/sys/class/bdi/\(device)/read_ahead_kb"
        let file = open(path, O_WRONLY | O_CLOEXEC)
        guard file >= 0 else {
            Log.debug("mount", "cannot open \(path) (\(String(cString: strerror(errno)))); the kernel reads ahead in 128 KiB")
            return
        }
        defer { Glibc.close(file) }
        let value = Array("1024".utf8)
        if write(file, value, value.count) != value.count {
            Log.debug("mount", "cannot set \(path) (\(String(cString: strerror(errno)))); the kernel reads ahead in 128 KiB")
        }
    }

    /// The read path's 4 MiB pieces are allocated on whichever thread receives them and freed
    /// on another; with glibc's default of up to 8 arenas per core, each arena keeps the
    /// pieces freed into it resident, and the mount process grew to 270 MiB after five
    /// 512 MiB reads through a 64 MiB cache. Two arenas keep it at about 150 MiB, at the
    /// same speed. The mount is a process of its own: this touches nothing else.
    private static func limitMallocArenas() {
        #if canImport(Glibc)
            _ = mallopt(M_ARENA_MAX, 2)
        #endif
    }

    /// Files a mount process that died left staged: those whose write-back close had
    /// returned are uploaded now (the program was told they were saved); the others may be
    /// half written and are named in a warning, left for the user.
    private static func uploadLeftovers(client: DFSClient, options: MountOptions) async {
        for leftover in StagingArea.leftovers(in: options.cacheFolder) {
            guard leftover.ready, let path = try? DFSPath(leftover.clusterPath) else {
                if leftover.damaged {
                    Log.error(
                        "mount",
                        "\(leftover.stagedPath) was closed for \(leftover.clusterPath) through a mount process that died, but its bytes are not those closed (the machine went down before they reached the disk); not uploaded, left there"
                    )
                    continue
                }
                Log.warn(
                    "mount",
                    "\(leftover.stagedPath) holds \(leftover.bytes) bytes written to \(leftover.clusterPath) by a mount process that died before uploading them; copy it in with dfs cp, then remove it"
                )
                continue
            }
            do {
                _ = try await client.upload(localPath: leftover.stagedPath, to: path, options: options.upload)
                Log.info("mount", "uploaded \(path) (\(leftover.bytes) bytes), closed through a mount process that died before uploading it")
                await BlockingIO.runQuietly { StagingArea.removeLeftover(leftover.stagedPath) }
            } catch {
                Log.error(
                    "mount",
                    "cannot upload \(leftover.stagedPath) to \(path), left by a mount process that died: \(DFSError.wrap(error).message); it stays there"
                )
            }
        }
    }

    /// Returns once the mount is gone.
    public func waitUntilUnmounted() async {
        await session.waitUntilUnmounted()
    }

    /// Unmounts: ``waitUntilUnmounted()`` returns soon after.
    public func unmount() {
        session.unmount()
    }

    /// After the mount is gone: waits for requests still running, frees the session and
    /// removes the staging folder.
    public func close() async {
        await session.close()
        staging.removeFolder()
    }
}
