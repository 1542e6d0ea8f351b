import Crypto
import DFSCore
import DFSNet

/// Whole-file digests, as `sha256sum` prints them.
enum FileDigest {
    /// Reads the file once from start to end (blocking; run off the cooperative pool).
    static func sha256(of file: LocalFile, size: Int? = nil) throws -> String {
        var hasher = SHA256()
        let total = size ?? file.size
        var offset = 0
        var spare: [UInt8]?
        while offset < total {
            let count = min(4 * Limits.writeFrameBytes, total - offset)
            let bytes = try file.read(at: offset, count: count, reusing: spare.take())
            hasher.update(data: bytes)
            offset += count
            spare = bytes
        }
        return Hex.encode(hasher.finalize())
    }
}

/// Whole-file checksums of a file being downloaded in parallel blocks, computed in file
/// order as the blocks arrive: each block is read back (from the page cache, as a rule) as
/// soon as every block before it is done, while later blocks are still on the wire. The
/// CRC32C always; the SHA-256 when asked for. Runs on a queue of its own, off the
/// cooperative pool.
actor SequentialDigest {
    private let executor = QueueExecutor(label: "dfs.download-digest")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let file: LocalFile
    private let ranges: [(offset: Int, length: Int)]
    private var done: [Bool]
    private var next = 0
    private var crc = CRC32C()
    private var hasher: SHA256?

    init(file: LocalFile, ranges: [(offset: Int, length: Int)], sha256: Bool) {
        self.file = file
        self.ranges = ranges
        self.done = Array(repeating: false, count: ranges.count)
        hasher = sha256 ? SHA256() : nil
    }

    /// Block `index` is written whole; hashes every block now contiguous from the start.
    func finished(_ index: Int) throws {
        done[index] = true
        while next < ranges.count, done[next] {
            let (offset, length) = ranges[next]
            var position = 0
            while position < length {
                let count = min(4 * Limits.writeFrameBytes, length - position)
                let bytes = try file.read(at: offset + position, count: count)
                crc.update(bytes)
                hasher?.update(data: bytes)
                position += count
            }
            next += 1
        }
    }

    /// The checksums, once every block is finished.
    func digest() throws -> (crc32c: UInt32, sha256: String?) {
        guard next == ranges.count else {
            throw DFSError(.internalError, "digest asked for after \(next) of \(ranges.count) blocks")
        }
        return (crc.value, hasher.map { Hex.encode($0.finalize()) })
    }
}
