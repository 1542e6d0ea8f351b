import DFSClient
import DFSCore

/// What `dfs mount` was asked for, beside the cluster and the mountpoint.
public struct MountOptions: Sendable {
    /// The cluster folder shown at the mount's top.
    public var root: DFSPath = .root
    public var readOnly = false
    /// Lets users other than the one who mounted use the mount (FUSE's allow_other).
    public var allowOther = false
    public var timeouts = MountTimeouts(attribute: .seconds(1), entry: .seconds(1))
    /// Bytes of files open for writing the staging folder may hold.
    public var cacheBytes = 1024 * 1024 * 1024
    /// Where staged files go; a folder of this mount's own is made inside it.
    public var cacheFolder = "/var/tmp"
    /// Bytes of block pieces (4 MiB ranges) kept in memory for reads, those read ahead
    /// included (see `BlockCache`); the kernel's page cache keeps what was read besides.
    public var readCacheBytes = 64 * 1024 * 1024
    /// Write-back: the close of a small file (one block, at most 256 KiB) returns once its
    /// bytes are written (not synced) in the staging folder, and the upload follows in
    /// batches. fsync still waits for the cluster. Off: every close waits for its upload.
    public var writeback = false
    /// Block size and replication of files written through the mount.
    public var upload = UploadOptions()
    /// Threads reading requests from the kernel; each hands its request to a task at once.
    public var readerThreads = 4
    /// Requests being served at once; a reader thread waits for a turn beyond it.
    public var requestsInFlightMax = 256

    public init() {}
}

/// How long the kernel may keep attributes and names without asking again.
public struct MountTimeouts: Sendable {
    public var attributeSeconds: Double
    public var entrySeconds: Double

    public init(attribute: Duration, entry: Duration) {
        attributeSeconds = attribute.inSeconds
        entrySeconds = entry.inSeconds
    }
}
