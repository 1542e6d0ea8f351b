import ArgumentParser
import DFSClient
import DFSCore
import DFSMount
import DFSProcess
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount the cluster (or one of its folders) as a local folder, through FUSE.",
        discussion: """
            Serves in the foreground until the folder is unmounted (fusermount3 -u MOUNTPOINT,
            umount MOUNTPOINT) or the process gets SIGINT or SIGTERM, which unmount it;
            with --daemon, returns once the mount is ready and serves in the background.
            Examples:
              dfs mount localhost:8000 /mnt/dfs
              dfs mount --daemon -o ro localhost:8000:/docs /mnt/docs
            A file written through the mount is staged in --cache-dir and reaches the cluster,
            whole and at once, when it is closed or fsynced (with --writeback, a small file
            after its close returned, in a batch with others). A mountpoint left behind by a mount
            process that died ("Transport endpoint is not connected") is unmounted and mounted
            again. Needs /dev/fuse and fusermount3 (Debian: fuse3).
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "The cluster and the folder to mount: HOST:PORT[,HOST:PORT...][:PATH].")
    var source: String

    @Argument(help: "The local folder to mount it on.")
    var mountpoint: String

    @Option(
        name: .customShort("o"),
        help: ArgumentHelp("Mount options, comma-separated: ro, rw, allow_other (and fstab's defaults, _netdev, nofail, ...).", valueName: "options"))
    var mountOptions: [String] = []

    @Flag(help: "Return once the mount is ready, serving in the background.")
    var daemon = false

    @Option(help: "How long the kernel keeps a file's attributes before asking again.")
    var attrTimeout = DurationArgument(.seconds(1))

    @Option(help: "How long the kernel keeps a name it looked up before asking again.")
    var entryTimeout = DurationArgument(.seconds(1))

    @Option(help: "Bytes of files open for writing the staging folder may hold; a write beyond is ENOSPC.")
    var cacheSize = SizeArgument(bytes: 1024 * 1024 * 1024)

    @Option(help: "Where the staging folder of files open for writing is made.")
    var cacheDir = "/var/tmp"

    @Flag(
        help: """
            Write-back: the close of a small file (one block, at most 256KiB) returns once the file is written \
            in --cache-dir (not synced: safe if the mount process dies, not if the machine does); uploads \
            follow in batches. fsync still waits for the cluster; a mount that died uploads what it had \
            staged when it is mounted again.
            """)
    var writeback = false

    @Option(help: "Block size of files written through the mount (64MiB, 512KiB, ...).")
    var blockSize = SizeArgument(bytes: 64 * 1024 * 1024)

    @Option(help: "Replicas per block of files written through the mount (default: the meta server's).")
    var replication: Int?

    /// fstab's generic options, which a mount helper passes along and FUSE has no use for, and
    /// default_permissions, which every dfs mount has.
    static let ignoredOptions: Set<String> = [
        "defaults", "default_permissions", "_netdev", "nofail", "noauto", "auto", "user", "nouser", "users", "dev", "nodev", "suid", "nosuid", "exec", "noexec",
        "atime", "noatime", "relatime",
    ]

    func validate() throws {
        guard (Limits.blockBytesMin...Limits.blockBytesMax).contains(blockSize.bytes) else {
            throw ValidationError("--block-size must be \(ByteSize.format(Limits.blockBytesMin)) to \(ByteSize.format(Limits.blockBytesMax))")
        }
        if let replication, !(1...Limits.replicationMax).contains(replication) {
            throw ValidationError("--replication must be 1 to \(Limits.replicationMax)")
        }
        for option in mountOptionList where !["ro", "rw", "allow_other"].contains(option) && !Self.ignoredOptions.contains(option) {
            throw ValidationError("unknown mount option '\(option)'; dfs mount takes ro, rw and allow_other")
        }
    }

    /// This command again, for the child of --daemon, without --daemon: rebuilt from what
    /// was parsed, not copied from the command line (which may have been a mount helper's).
    func childArguments(mountpoint: String) -> [String] {
        var arguments = [
            "mount", "--attr-timeout", "\(attrTimeout.duration.inMilliseconds)ms", "--entry-timeout",
            "\(entryTimeout.duration.inMilliseconds)ms", "--cache-size", "\(cacheSize.bytes)", "--cache-dir", cacheDir, "--block-size",
            "\(blockSize.bytes)", "--retry-for", "\(retry.retryFor.duration.inMilliseconds)ms",
        ]
        if let replication { arguments += ["--replication", "\(replication)"] }
        if writeback { arguments.append("--writeback") }
        if let secretFile = security.secretFile { arguments += ["--secret-file", secretFile] }
        if !mountOptionList.isEmpty { arguments += ["-o", mountOptionList.joined(separator: ",")] }
        return arguments + [source, mountpoint]
    }

    var mountOptionList: [String] {
        mountOptions.flatMap { $0.split(separator: ",").map(String.init) }
    }

    func run() async throws {
        try await reportingErrors("mount") {
            let location = try Locations.required(source)
            let target = URL(fileURLWithPath: mountpoint).standardizedFileURL.path
            if daemon {
                try await MountDaemon.start(arguments: childArguments(mountpoint: target), mountpoint: target)
                return
            }
            if ProcessInfo.processInfo.environment[MountDaemon.detachedVariable] != nil {
                // The child of --daemon: a session of its own, no terminal to hang up on it.
                _ = setsid()
            }
            var options = MountOptions()
            options.root = location.path
            options.readOnly = mountOptionList.last { $0 == "ro" || $0 == "rw" } == "ro"
            options.allowOther = mountOptionList.contains("allow_other")
            options.timeouts = MountTimeouts(attribute: attrTimeout.duration, entry: entryTimeout.duration)
            options.cacheBytes = cacheSize.bytes
            options.cacheFolder = cacheDir
            options.writeback = writeback
            options.upload = UploadOptions(blockBytes: blockSize.bytes, replication: replication)
            try await DFSClient.using(location.endpoints, secret: security, retry: retry) { client in
                let mount = try await Mount.start(client: client, mountpoint: target, options: options, source: "dfs#\(location)")
                printNow("mounted \(location) on \(target)")
                let signals = Task {
                    await waitForTerminationSignal()
                    mount.unmount()
                }
                await mount.waitUntilUnmounted()
                signals.cancel()
                await mount.close()
            }
        }
    }
}

/// `dfs mount --daemon`: the same command again without the flag, as a child in a session
/// of its own, waited for until its mount is in the mount table (or it fails).
enum MountDaemon {
    /// Set in the child's environment, so it detaches from the terminal.
    static let detachedVariable = "DFS_MOUNT_DETACHED"

    static func start(arguments: [String], mountpoint: String) async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var environment = ProcessInfo.processInfo.environment
        environment[detachedVariable] = "1"
        environment["DFS_PARENT_PID"] = nil
        let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-mount-\(getpid()).err").path
        defer { FileSystem.removeQuietly(errorPath) }
        let child = try SpawnedProcess(executable, arguments, environment: environment, errorPath: errorPath)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !child.isRunning {
                // The child's own one-line error, without its "dfs mount: ", which ours adds.
                var errors = String(decoding: (try? FileSystem.contents(of: errorPath)) ?? [], as: UTF8.self)
                if errors.hasPrefix("dfs mount: ") { errors.removeFirst("dfs mount: ".count) }
                throw DFSError(
                    .ioError, errors.isEmpty ? "the mount process exited with status \(child.terminationStatus)" : errors.trimmingCharacters(in: .newlines))
            }
            if MountTable.isMounted(mountpoint), !MountTable.isStale(mountpoint) {
                // A SpawnedProcess kills its process when released: this one must outlive us.
                _ = Unmanaged.passRetained(child)
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(child.processIdentifier, SIGTERM)
        throw DFSError(.timeout, "the mount on \(mountpoint) was not ready within 60 s")
    }
}
