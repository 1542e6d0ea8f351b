/// Limits on everything that can grow. Each says why it has its value.
public enum Limits {
    /// JSON header of one frame. Headers carry ids, paths and short lists, never file data.
    public static let headerBytesMax = 1024 * 1024
    /// Raw payload of one frame. Block data travels as a stream of frames of at most this
    /// size, so a connection never holds more than one of them at a time.
    public static let payloadBytesMax = 4 * 1024 * 1024
    /// Size of the payloads a writer cuts block data into: one `blockData` frame each, a
    /// whole number of pieces (``pieceBytes``).
    public static let writeFrameBytes = 1024 * 1024
    /// Size of the payloads a data node sends a block's bytes to a reader in: a whole number
    /// of checksum pieces, and fewer frames (fewer wake-ups on both sides) than writes use.
    public static let readFrameBytes = 4 * 1024 * 1024
    /// The most one write(2) into the page cache hands the kernel (downloads, data nodes).
    /// The page cache sizes its pages by the write, and on virtual machines that hand freed
    /// memory back to their host, large pages must often be faulted in again. Writing 1 GiB
    /// into the page cache here took 1.9-2.6 s in 4 MiB writes, 1.2 s in 1 MiB, 0.6-0.9 s in
    /// 64 KiB (local `cp` 0.55 s) and 1.2 s in 16 KiB; with fsync, 4.3-4.5 s in 4 MiB writes,
    /// 3.0-3.1 s in 1 MiB and 2.4-2.6 s in 64 KiB.
    public static let pageCacheWriteBytes = 64 * 1024
    /// A data node starts writing a block to the device after every this many bytes received
    /// (without waiting), so the fsync at the block's end has little left to do.
    public static let writebackWindowBytes = 8 * 1024 * 1024
    /// Block data is checksummed (CRC32C) in pieces of this size: small enough that a bad
    /// sector spoils little, large enough that the checksums are 1/16384 of the data.
    public static let pieceBytes = 64 * 1024
    /// Longest path, as Linux's PATH_MAX.
    public static let pathBytesMax = 4096
    /// Longest single name in a path, as Linux's NAME_MAX.
    public static let nameBytesMax = 255
    /// Largest block. Bigger blocks would make one lost replica too costly to repair.
    public static let blockBytesMax = 1024 * 1024 * 1024
    /// Smallest block; smaller ones would make the metadata larger than the data.
    public static let blockBytesMin = 4096
    /// Highest replication factor a file may ask for.
    public static let replicationMax = 16
    /// Connections one server holds once they have said hello (and proved the secret); the
    /// next is refused with an error frame.
    public static let connectionsMax = 1024
    /// Connections one server holds that have not yet said hello (nor proved the secret):
    /// counted apart from ``connectionsMax``, so a flood of them cannot keep members out. A
    /// new connection over this limit takes the place of the oldest one still in its
    /// handshake, which is closed: a member finishes its handshake in milliseconds, a
    /// silent socket holds its slot only until newer ones come.
    public static let handshakingConnectionsMax = 128
    /// Of those, from one address: a new one over this limit takes the place of that
    /// address's oldest.
    public static let handshakingConnectionsPerAddressMax = 32
    /// Largest header of a frame before the handshake is done (`hello`), and no payload:
    /// a peer not yet known costs a server a few KiB at most.
    public static let helloHeaderBytesMax = 512
    /// Idle connections a client keeps per endpoint for reuse.
    public static let idleConnectionsPerEndpointMax = 32
    /// Entries in one `list` reply; longer folders are paged.
    public static let listEntriesMax = 1000
    /// Blocks in one file. With the largest block this is a petabyte.
    public static let blocksPerFileMax = 1_000_000
    /// Largest file: its most blocks of the largest size (about 2^50 bytes). Sums of a few
    /// thousand such sizes still fit in an `Int`.
    public static let fileBytesMax = blocksPerFileMax * blockBytesMax
    /// Largest meta server database a backup carries: as large as the largest file, far
    /// beyond any namespace (a million files take about 0.5 GB).
    public static let backupBytesMax = fileBytesMax
    /// Bytes of a backup per `backupData` frame: a quarter of the payload limit, so a
    /// frame is sent in a few milliseconds and a reader holds little of it at once.
    public static let backupFrameBytes = 1024 * 1024
    /// Most space a data node may report (capacity, used): 2^60 bytes, an exabyte, far beyond
    /// any one machine, and small enough that the meta server's sums and differences of a few
    /// such values (free space less what is reserved) never overflow.
    public static let nodeBytesMax = 1 << 60
    /// Largest byte total a node reports (bytes written or read since it started): 2^62,
    /// far beyond any real total, well inside the wire's integers and a Double's exact range
    /// for sums of several nodes.
    public static let byteCounterMax = 1 << 62
    /// Most blocks a data node may report holding, or copying: 2^40; a node full of the
    /// smallest blocks (4 KiB) would hold 4 PiB.
    public static let nodeBlocksMax = 1 << 40
    /// Largest block id: SQLite's integers, where the meta server keeps them, are signed 64-bit.
    public static let blockIDMax = UInt64(Int64.max)
    /// Requests a server works on per connection at once: one. A client that sends more
    /// without waiting for replies finds them waiting in the kernel's buffers, whose full
    /// window stops it (no queue grows in the server).
    public static let requestsInFlightPerConnection = 1
    /// Files in one `createFiles` or `completeFiles` request, and blocks in one
    /// `writeBlocks`: enough to share one commit and one flush among many small files,
    /// few enough that a batch's header stays far below ``headerBytesMax`` (64 paths of at
    /// most 4 KiB).
    public static let filesPerBatchMax = 64
    /// Largest file a tree copy sends in a batch with others; larger ones go one by one.
    /// Also the largest block a tree download reads in a `readBlocks` batch.
    public static let batchedFileBytesMax = 256 * 1024
    /// Blocks in one `readBlocks` request (and its reply), whose bytes travel in one payload
    /// of at most ``payloadBytesMax``: 256 blocks of 4 KiB are 1 MiB, and one request of them
    /// costs a node one round trip, a few preads (a batch's blocks lie side by side in a
    /// pack) and one send, where 256 `readBlock`s cost 256 of each. The request's header
    /// (256 ids with their tokens) stays near 30 KiB, far below ``headerBytesMax``.
    public static let blocksPerReadMax = 256
    /// Entries in one `listOK` page that carries its files' blocks (`list` with
    /// `withBlocks`): each entry then adds a block with its token and replica indexes (under
    /// 400 bytes), and the page a table of up to 16 node addresses per entry (under 100
    /// bytes each), so that even names of 255 bytes all escaped and a cluster of thousands
    /// of nodes keep a page within ``headerBytesMax``. Pages are streamed, so a smaller page
    /// costs a query and a frame more per 250 files, not a round trip.
    public static let listEntriesWithBlocksMax = 250
    /// Paths in one `getFiles`: a `dfs stat` or `dfs cat` of many paths costs a round trip
    /// per 256 instead of one per path; the request's header stays near 1 MiB even with
    /// every path at its 4096-byte limit.
    public static let pathsPerGetFilesMax = 256
    /// Bytes of JSON a meta server puts in one `getFilesOK` before it stops and answers the
    /// paths so far (at least one): half a header, so that one more file of the largest
    /// `getFileOK` a header can hold never pushes a reply past ``headerBytesMax``. The
    /// client asks again for the paths left.
    public static let getFilesReplyBytes = headerBytesMax / 2
    /// Blocks of one file a client writes or reads at once.
    public static let blocksInFlight = 4
    /// Pipelines one block is written through before the client keeps the best result (a
    /// block on fewer nodes than asked is under-replicated, not lost) or gives up. Each
    /// attempt after a failure asks for nodes without the ones that failed, so three ride
    /// out two failed nodes in a row; a cluster that fails a third time has a problem that
    /// a fourth attempt would not fix, and the writer should hear of it.
    public static let blockWriteAttempts = 3
    /// File ids in one `renewLeases`: a tree copy has up to 32 batches of 64 files pending
    /// at once, so one or two requests per renewal; 1000 ids are about 20 KiB of header.
    public static let leaseRenewalsMax = 1000
    /// Threads a data node's group sync flushes finished blocks with at once: enough for the
    /// file system to gather the flushes into one journal commit, few enough not to crowd out
    /// everything else on a small machine.
    public static let flushThreadsMax = 8
    /// Blocking jobs (``BlockingIO``: a frame's write, a block's read, a pack, a folder's
    /// walk, a name lookup) that run at once, each on a thread of its own; the rest wait in
    /// order without holding a thread. The jobs are page-cache copies of at most a pack or a
    /// frame and the odd slow call (a cold read, a lookup): more at once than a few per core
    /// only queue in the kernel, while 16 still keep a device's queue (NVMe, SATA's 32
    /// commands) busy when some of them wait. Before the bound, a burst of requests could
    /// start as many threads as Dispatch allows (64 per queue on Linux).
    public static let blockingIOThreads = 16
    /// Repair copies a data node starts from one heartbeat reply, each a task of its own; the
    /// reply's copies beyond it are not started (the meta server asks again when they time
    /// out). The meta server asks each node for at most `--repair-per-node` (default 2) at once.
    public static let repairCopiesPerHeartbeatMax = 64
    /// Blocks one pass of the meta server's repair loop reads from its index of blocks
    /// needing a look; the next pass goes on after the last. A pass schedules at most
    /// `--repair-per-node` copies per node, so a thousand blocks give a large cluster enough
    /// to choose from, while reading them costs a few milliseconds a pass however many blocks
    /// the cluster holds.
    public static let repairBlocksPerPassMax = 1000
    /// Replicas one heartbeat reply tells a node to delete; the rest wait for its next
    /// heartbeat. The node unlinks them before it sends that heartbeat, so a node with a
    /// large backlog (a big folder removed) still answers in time, and 1000 ids keep the
    /// reply's header about 20 KiB. At most ``Heartbeat/changesMax``, which a node accepts.
    public static let deletionsPerHeartbeatMax = 1000
    /// Bytes one read(2) from a socket takes at most, into a buffer each connection keeps
    /// for its life: a 1 MiB write frame arrives in four reads, and the most connections a
    /// server holds (``connectionsMax``) keep 256 MiB at most between them.
    public static let socketReadBytes = 256 * 1024
    /// Characters of a value from a peer (a node id, a host, a digest) that an error or a log
    /// line quotes: every well-formed value shows whole (a node id has at most 64, a SHA-256
    /// 64 hex digits), and a hostile one cannot fill a reply or the log.
    public static let quotedCharactersMax = 80
    /// A file version's entity tag (``FileInfo/etag``): an S3 ETag is 32 hex digits, or 32
    /// and `-N` for an object of N parts.
    public static let etagBytesMax = 64
    /// A file version's properties (``FileInfo/properties``), names and values together: S3
    /// allows 2 KiB of user metadata beside a few headers of its own. A `getFile` reply stays
    /// far below ``headerBytesMax``; a `getFiles` reply of many such files is cut where it
    /// would pass ``getFilesReplyBytes``, as it is for many blocks.
    public static let propertiesBytesMax = 8 * 1024
    /// Properties of one file version, at most.
    public static let propertiesCountMax = 64
    /// Block ids one log line lists (a node's corrupt blocks); the rest are left out, so the
    /// line stays readable however many one heartbeat carries.
    public static let loggedBlockIDsMax = 20
}
