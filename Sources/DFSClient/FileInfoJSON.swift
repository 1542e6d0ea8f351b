import DFSCore

/// A file or folder as `dfs ls --json` and `dfs stat --json` print it, and as scripts and
/// tests read it back: one type for both commands, so their fields cannot drift apart.
///
/// Keys are printed sorted; a field that is nil is left out. The two commands differ in
/// two fields, as they always have: a folder's `replication` is 0 in a listing and absent
/// from `stat`, and only `stat` has `blocks` (empty for a folder).
public struct FileInfoJSON: Codable, Hashable, Sendable {
    /// One block of a file and the nodes that hold it.
    public struct Block: Codable, Hashable, Sendable {
        public var id: UInt64
        public var index: Int
        public var length: Int
        public var crc32c: UInt32
        /// The nodes' addresses, `HOST:PORT`.
        public var replicas: [String]
    }

    public var path: String
    /// `file`, `dir` or `link`.
    public var type: String
    public var size: Int
    /// Seconds since 1970.
    public var mtime: Double
    public var replication: Int?
    /// A file's block size; absent for a folder.
    public var blockSize: Int?
    /// CRC32C of the whole file, as a number; absent for a folder and for files written
    /// before dfs recorded it.
    public var crc32c: UInt32?
    /// Lower-case hex, when the file was written with `cp --sha256`.
    public var sha256: String?
    public var blocks: [Block]?
    /// Permission bits, owner and group, when they were set (`chmod`, `chown`).
    public var mode: Int?
    public var uid: Int?
    public var gid: Int?
    /// What a link points to.
    public var target: String?

    /// An entry of a listing (`ls --json`).
    public init(listed info: FileInfo) {
        let isFile = info.type == .file
        path = info.path.string
        type = info.type.rawValue
        size = info.size
        mtime = info.mtime
        replication = isFile ? info.replication : 0
        blockSize = isFile ? info.blockBytes : nil
        crc32c = info.crc32c
        sha256 = info.sha256
        blocks = nil
        mode = info.mode
        uid = info.uid
        gid = info.gid
        target = info.target
    }

    /// A file or folder with its blocks and their nodes (`stat --json`).
    public init(_ file: GetFileOK) {
        self.init(listed: file.info)
        if file.info.type != .file { replication = nil }
        blocks = file.blocks.map {
            Block(
                id: $0.blockID.rawValue, index: $0.blockIndex, length: $0.length, crc32c: $0.checksum,
                replicas: $0.replicas.map(\.address.description))
        }
    }
}
