import ArgumentParser
import DFSClient
import DFSCore
import DFSProcess
import DFSSystem
import Foundation

/// The benchmark's steps: warm-ups and test files.
extension Bench {
    /// Runs one copy of the write or read comparison and returns its seconds, in conditions
    /// both sides share: a pause, then a warm-up file of the same size written and deleted,
    /// then the copy, whose local output (if any) is deleted after it.
    ///
    /// The pause and the warm-up are for virtual machines that hand freed memory back to
    /// their host (free page reporting, about 2 s after a free): filling memory handed back
    /// costs several times more than filling memory just freed (writing 1 GiB into the page
    /// cache, `cp` took 0.55 s into just-freed memory and 2.1-2.4 s into memory handed
    /// back). Without the pause, the handing back of an earlier step's memory could start in
    /// the middle of the copy measured; with it, that is done, and the warm-up frees the
    /// memory the copy then fills.
    func afterWarmUp(_ arguments: [String], _ what: String, output: String? = nil) async throws -> Double {
        try await measuredAfterWarmUp(arguments, what, output: output).seconds
    }

    /// ``afterWarmUp(_:_:output:)`` with the CPU time spent: the program's own, and the data
    /// nodes' during its run.
    /// The data nodes counted are `on`'s, the bench's cluster without a secret unless given.
    func measuredAfterWarmUp(_ arguments: [String], _ what: String, output: String? = nil, on: BenchCluster? = nil) async throws -> Measured {
        let nodeCluster = on ?? cluster
        if let output { FileSystem.removeQuietly(output) }
        try await Task.sleep(for: settle)
        _ = try checked(ChildProcess.run(["/bin/cp", path("source"), path("warm.out")]), "cp (warm-up)")
        FileSystem.removeQuietly(path("warm.out"))
        let nodesBefore = nodeCluster.dataNodeCPUSeconds
        let run = try checked(ChildProcess.run(arguments), what)
        let nodes = nodeCluster.dataNodeCPUSeconds - nodesBefore
        if let output { FileSystem.removeQuietly(output) }
        return Measured(seconds: run.seconds, cpuSeconds: run.cpuSeconds, nodeCPUSeconds: nodes)
    }

    /// One timed run: its seconds, the program's CPU seconds and the data nodes' meanwhile.
    struct Measured {
        var seconds: Double
        var cpuSeconds: Double
        var nodeCPUSeconds: Double
        /// CPU seconds per GiB of `bytes`: the program's, and with `nodes` the data nodes' too.
        func cpuPerGiB(_ bytes: Int, nodes: Bool = true) -> Double {
            (cpuSeconds + (nodes ? nodeCPUSeconds : 0)) * Double(1 << 30) / Double(max(bytes, 1))
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    func checked(_ run: ChildRun, _ what: String) throws -> ChildRun {
        guard run.status == 0 else { throw DFSError(.internalError, "\(what) failed with status \(run.status)") }
        return run
    }

    func progress(_ text: String) {
        Self.progress(text, since: started)
    }

    /// One line on standard error: what the run is doing, after how long.
    static func progress(_ text: String, since started: ContinuousClock.Instant) {
        printError("dfs bench: [\(Int((ContinuousClock.now - started).inSeconds)) s] \(text)")
    }

    func writeRandomFile(_ path: String, bytes: Int) throws {
        let file = try OpenFile.createOrTruncate(path)
        defer { file.close() }
        var generator = SplitMix64(seed: 0x1234_5678)
        var chunk = [UInt64](repeating: 0, count: 1 << 17)
        var written = 0
        while written < bytes {
            for index in chunk.indices { chunk[index] = generator.next() }
            let count = min(chunk.count * 8, bytes - written)
            try chunk.withUnsafeBytes { try file.writeAll(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
            written += count
        }
    }

    func writeSmallFiles(_ folder: String, count: Int) throws {
        try FileSystem.makeFolders(folder)
        let content = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for index in 0..<count {
            let file = try OpenFile.createOrTruncate("\(folder)/\(String(format: "f%06d", index))")
            defer { file.close() }
            try file.writeAll(content)
        }
    }

    /// A file of `bytes` with no blocks on disk: reading it costs nothing, so the memory run
    /// measures dfs alone.
    func makeSparseFile(_ path: String, bytes: Int) throws {
        let file = try OpenFile.createOrTruncate(path, permissions: [.ownerReadWrite])
        defer { file.close() }
        try file.resize(to: bytes)
    }
}
