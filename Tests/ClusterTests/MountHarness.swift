import DFSCore
import DFSProcess
import DFSSystem
import DFSTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `dfs mount` child process of a test cluster, on a temp folder of its own.
///
/// ``with(_:arguments:_:)`` mounts, runs the body, and always ends with the mount gone
/// (SIGTERM, then a lazy unmount if the child did not unmount) and the folder removed,
/// whether the body succeeded, threw, or killed the child itself.
final class TestMount: @unchecked Sendable {
    /// FUSE mounts need /dev/fuse, fusermount3 and, here, root (the tests mount without
    /// /etc/fuse.conf's user_allow_other).
    static let available =
        FileManager.default.fileExists(atPath: "/dev/fuse") && getuid() == 0
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/fusermount3")
    static let unavailableReason = "FUSE mounts need /dev/fuse, fusermount3 (make deps installs fuse3) and root"

    let folder: TempFolder
    let mountpoint: String
    private(set) var process: SpawnedProcess
    private let outputPath: String
    private let arguments: [String]

    private init(folder: TempFolder, mountpoint: String, process: SpawnedProcess, outputPath: String, arguments: [String]) {
        self.folder = folder
        self.mountpoint = mountpoint
        self.process = process
        self.outputPath = outputPath
        self.arguments = arguments
    }

    /// Mounts `meta` (`HOST:PORT[:PATH]`) with files of 1 MiB blocks and the staging folder
    /// in the mount's temp folder (`cache`), runs `body`, unmounts.
    static func with<T>(
        _ meta: String, arguments: [String] = [], _ body: (TestMount) async throws -> T
    ) async throws -> T {
        let folder = try TempFolder()
        let mountpoint = folder.path("mnt")
        try FileSystem.makeFolders(mountpoint)
        let outputPath = folder.path("mount.out")
        let allArguments = ["--cache-dir", folder.path("cache")] + arguments
        let mount: TestMount
        do {
            try FileSystem.makeFolders(folder.path("cache"))
            let process = try await start(meta, mountpoint: mountpoint, arguments: allArguments, outputPath: outputPath)
            mount = TestMount(folder: folder, mountpoint: mountpoint, process: process, outputPath: outputPath, arguments: allArguments)
        } catch {
            folder.remove()
            throw error
        }
        do {
            let result = try await body(mount)
            await mount.stop()
            folder.remove()
            return result
        } catch {
            await mount.stop()
            folder.remove()
            throw error
        }
    }

    /// Starts `dfs mount` and waits until it says it is mounted (or exits).
    static func start(_ meta: String, mountpoint: String, arguments: [String], outputPath: String) async throws -> SpawnedProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["DFS_LOG"] = environment["DFS_LOG"] ?? "warn"
        environment["DFS_PARENT_PID"] = String(getpid())
        let process = try SpawnedProcess(
            DFSBinary.path, ["mount", "--block-size", "1MiB", "--retry-for", "5s"] + arguments + [meta, mountpoint], environment: environment,
            outputPath: outputPath, inheritStandardError: true)
        try await eventually(timeout: .seconds(30), "dfs mount printed that it mounted") {
            if !process.isRunning {
                throw DFSError(.internalError, "dfs mount exited with status \(process.terminationStatus) before mounting")
            }
            let output = String(decoding: (try? FileSystem.contents(of: outputPath)) ?? [], as: UTF8.self)
            return output.contains("mounted ")
        }
        return process
    }

    /// Starts another `dfs mount` on the same folder (after the first was killed).
    func remount(_ meta: String) async throws {
        process = try await Self.start(meta, mountpoint: mountpoint, arguments: arguments, outputPath: outputPath)
    }

    /// SIGTERM and a wait for the child to unmount and exit; SIGKILL and a lazy unmount if
    /// it does not within 20 s.
    func stop() async {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(20)
            while process.isRunning, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        if Self.isMounted(mountpoint) {
            _ = umount2(mountpoint, Int32(MNT_DETACH))
        }
    }

    /// True when `path` is in this process's mount table.
    static func isMounted(_ path: String) -> Bool {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }
    }

    func path(_ name: String) -> String { mountpoint + "/" + name }
}

/// POSIX calls on the mount, each on a thread of its own: a call into the mount waits for
/// the mount process, which waits for the cluster, whose tasks run on this process's few
/// cooperative threads; blocking one of them would slow the very servers being waited for.
enum Posix {
    /// Runs `body`, returning 0 or the errno it left.
    static func errno(_ body: @escaping @Sendable () -> Int32) async throws -> Int32 {
        try await Subprocess.onOwnThread {
            Glibc.errno = 0
            return body() < 0 ? Glibc.errno : 0
        }
    }

    /// Runs a shell command line to its end; its status and output.
    static func shell(_ command: String, timeout: Duration = .seconds(60)) async throws -> DFSBinary.Result {
        try await Subprocess.run("/bin/sh", ["-c", command], timeout: timeout)
    }
}
