import DFSClient
import DFSCore
import DFSProcess
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Bench {
    /// What `dfs cp` did in the same run, for the mount's rows to compare with.
    struct MountBaselines {
        var uploadRate: Double
        var downloadRate: Double
        var treeRate: Double
        var listSeconds: Double
    }

    /// FUSE mounts need /dev/fuse, fusermount3 and (without /etc/fuse.conf's
    /// user_allow_other) root.
    static var fuseAvailable: Bool {
        FileManager.default.fileExists(atPath: "/dev/fuse") && FileManager.default.isExecutableFile(atPath: "/usr/bin/fusermount3") && getuid() == 0
    }

    /// The same work through `dfs mount` (R=1, as the baselines): the test file written with
    /// `dd conv=fsync` and read back with `dd` (the mount drops the page cache at each open),
    /// the small files copied in with `cp -r` (closes that wait, then with --writeback until
    /// the cluster has every file), `ls -l` and `stat` of them, and the mount process's peak
    /// resident memory. Skipped, with a note, where FUSE is unavailable.
    func mountRows(_ baselines: MountBaselines) async throws -> [BenchResult] {
        guard Self.fuseAvailable else {
            notes.append("mount rows skipped: FUSE needs /dev/fuse, fusermount3 (make deps installs fuse3) and root")
            return []
        }
        let meta = cluster.endpoint.description
        let sizeText = ByteSize.format(fileBytes)
        var results: [BenchResult] = []
        var peaks: [Int] = []

        progress("through dfs mount: dd write and read, cp -r, ls -l, stat")
        try await withMount(meta, arguments: []) { mountpoint, process in
            let write = try checked(
                ChildProcess.run(["/bin/dd", "if=\(path("source"))", "of=\(mountpoint)/bench/mount-write", "bs=1M", "conv=fsync", "status=none"]),
                "dd into the mount")
            let writeRate = Self.mib(fileBytes, write.seconds)
            results.append(
                BenchResult(
                    name: "mount: write \(sizeText) (dd conv=fsync), R=1", value: writeRate, unit: "MiB/s", baselineName: "dfs cp (R=1)",
                    baseline: baselines.uploadRate, ratio: writeRate / baselines.uploadRate, goal: "≥ 0.8 × dfs cp",
                    met: writeRate >= 0.8 * baselines.uploadRate))
            let read = try checked(
                ChildProcess.run(["/bin/dd", "if=\(mountpoint)/bench/r1-0", "of=/dev/null", "bs=1M", "status=none"]), "dd out of the mount")
            let readRate = Self.mib(fileBytes, read.seconds)
            results.append(
                BenchResult(
                    name: "mount: read \(sizeText) (dd)", value: readRate, unit: "MiB/s", baselineName: "dfs cp (download)",
                    baseline: baselines.downloadRate, ratio: readRate / baselines.downloadRate, goal: "≥ 0.8 × dfs cp",
                    met: readRate >= 0.8 * baselines.downloadRate))
            let tree = try checked(ChildProcess.run(["/bin/cp", "-r", path("small"), "\(mountpoint)/mount-small"]), "cp -r into the mount")
            let treeRate = Double(smallFiles) / tree.seconds
            results.append(
                BenchResult(
                    name: "mount: create \(smallFiles) × 4 KiB (cp -r, close waits)", value: treeRate, unit: "files/s",
                    baselineName: "dfs cp -r", baseline: baselines.treeRate, ratio: treeRate / baselines.treeRate, goal: "≥ 2500 files/s",
                    met: treeRate >= 2500))
            let list = try checked(ChildProcess.run(["/bin/ls", "-l", "\(mountpoint)/mount-small"]), "ls -l of the mount")
            results.append(
                BenchResult(
                    name: "mount: ls -l of \(smallFiles) files", value: list.seconds, unit: "s", baselineName: "dfs ls -l",
                    baseline: baselines.listSeconds, ratio: baselines.listSeconds / list.seconds, goal: "≤ 0.5 s", met: list.seconds <= 0.5))
            // After the attribute timeout (1 s), so that every stat asks the mount again.
            try await Task.sleep(for: .milliseconds(1100))
            let stat = try checked(
                ChildProcess.run(["/bin/sh", "-c", "cd \"$0\" && exec stat -- * > /dev/null", "\(mountpoint)/mount-small"]), "stat in the mount")
            let statRate = Double(smallFiles) / stat.seconds
            results.append(
                BenchResult(
                    name: "mount: stat of \(smallFiles) files (one stat process)", value: statRate, unit: "stats/s", baselineName: nil,
                    baseline: nil, ratio: nil, goal: "≥ 10000/s", met: statRate >= 10_000))
            peaks.append(Self.peakResidentBytes(of: process))
        }
        try await withMount(meta, arguments: ["--writeback"]) { mountpoint, process in
            let client = DFSClient(meta: cluster.endpoint)
            defer { Task { await client.close() } }
            let started = ContinuousClock.now
            let tree = try checked(ChildProcess.run(["/bin/cp", "-r", path("small"), "\(mountpoint)/mount-writeback"]), "cp -r into the mount")
            let folder = try DFSPath("/mount-writeback")
            let deadline = ContinuousClock.now + .seconds(300)
            while try await client.list(folder).entries.count < smallFiles {
                guard ContinuousClock.now < deadline else { throw DFSError(.timeout, "the mount's write-back uploads did not end in 300 s") }
                try await Task.sleep(for: .milliseconds(5))
            }
            let uploadedRate = Double(smallFiles) / (ContinuousClock.now - started).inSeconds
            results.append(
                BenchResult(
                    name: "mount: create \(smallFiles) × 4 KiB (cp -r, --writeback, until all uploaded)", value: uploadedRate,
                    unit: "files/s", baselineName: "dfs cp -r", baseline: baselines.treeRate, ratio: uploadedRate / baselines.treeRate,
                    goal: "≥ 2500 files/s", met: uploadedRate >= 2500,
                    note: "cp -r itself returned after \(String(format: "%.2f", tree.seconds)) s (\(Int(Double(smallFiles) / tree.seconds)) files/s)"))
            peaks.append(Self.peakResidentBytes(of: process))
        }
        let peak = peaks.max() ?? 0
        results.append(
            BenchResult(
                name: "peak memory of the mount process", value: Double(peak) / 1_048_576, unit: "MiB", baselineName: nil, baseline: nil,
                ratio: nil, goal: "≤ 256 MiB", met: peak <= 256 << 20))
        return results
    }

    /// Mounts the bench cluster on a folder of the run, runs `body` with the mountpoint and
    /// the mount process, and unmounts (SIGTERM) whatever happened.
    private func withMount(
        _ meta: String, arguments: [String], _ body: (String, SpawnedProcess) async throws -> Void
    ) async throws {
        let mountpoint = path("mnt")
        try FileSystem.makeFolders(mountpoint)
        try FileSystem.makeFolders(path("mount-cache"))
        let outputPath = path("mount.out")
        FileSystem.removeQuietly(outputPath)
        let process = try ChildProcess.start(
            [executable, "mount", "--replication", "1", "--cache-dir", path("mount-cache")] + arguments + [meta, mountpoint],
            outputPath: outputPath)
        defer { ChildProcess.stop(process) }
        let deadline = ContinuousClock.now + .seconds(30)
        while !String(decoding: (try? FileSystem.contents(of: outputPath)) ?? [], as: UTF8.self).contains("mounted ") {
            guard process.isRunning, ContinuousClock.now < deadline else { throw DFSError(.internalError, "dfs mount did not mount") }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await body(mountpoint, process)
    }

    /// The peak resident memory of a running process (VmHWM in /proc/PID/status), in bytes.
    static func peakResidentBytes(of process: SpawnedProcess) -> Int {
        let text = String(decoding: (try? FileSystem.contents(of: "/proc/\(process.processIdentifier)/status")) ?? [], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
