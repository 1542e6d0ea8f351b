/// The range of every number a message carries, checked once, where the message is decoded
/// (``Frame/decode(_:)`` calls ``Message/validate()``). Handlers, and the replies' readers,
/// may then add, subtract and compare these values without checking them again: every bound
/// here is small enough that the sums and differences they make fit in an `Int`.
///
/// A value out of range is `invalidArgument` (`tooLarge` for a list longer than its limit,
/// as the meta server always answered); the frame was well formed, so the connection goes on.
enum Check {
    static func range(_ value: Int, _ range: ClosedRange<Int>, _ what: @autoclosure () -> String) throws(DFSError) {
        guard range.contains(value) else {
            throw DFSError(.invalidArgument, "\(what()) \(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }

    static func count(_ count: Int, atMost limit: Int, _ what: @autoclosure () -> String, code: DFSError.Code = .tooLarge) throws(DFSError) {
        guard count <= limit else {
            throw DFSError(code, "\(what()) holds \(count) entries; the limit is \(limit)")
        }
    }

    /// The items of a batch request: at least one (`invalidArgument`), at most `limit` (`tooLarge`).
    static func batch(_ count: Int, atMost limit: Int, _ what: String, of items: String) throws(DFSError) {
        guard count > 0 else { throw DFSError(.invalidArgument, "\(what) names 1 to \(limit) \(items), not 0") }
        try Check.count(count, atMost: limit, what)
    }

    static func nodeSpace(capacityBytes: Int, usedBytes: Int, blockCount: Int) throws(DFSError) {
        try range(capacityBytes, 0...Limits.nodeBytesMax, "capacityBytes")
        try range(usedBytes, 0...Limits.nodeBytesMax, "usedBytes")
        try range(blockCount, 0...Limits.nodeBlocksMax, "blockCount")
    }

    static func blockIndex(_ index: Int) throws(DFSError) {
        try range(index, 0...(Limits.blocksPerFileMax - 1), "blockIndex")
    }

    static func pipeline(_ pipeline: [NodeAddress]) throws(DFSError) {
        try count(pipeline.count, atMost: Limits.replicationMax - 1, "pipeline", code: .invalidArgument)
        for node in pipeline { try node.validate() }
    }

    static func targets(_ targets: [NodeAddress]) throws(DFSError) {
        try count(targets.count, atMost: Limits.replicationMax, "targets", code: .invalidArgument)
        for node in targets { try node.validate() }
    }

    /// A replication a request asks for: absent (the server's default) or 1 to the limit.
    static func replication(_ replication: Int?) throws(DFSError) {
        if let replication { try range(replication, 1...Limits.replicationMax, "replication") }
    }

    static func blockBytes(_ blockBytes: Int) throws(DFSError) {
        try range(blockBytes, Limits.blockBytesMin...Limits.blockBytesMax, "blockBytes")
    }
}

// MARK: Addresses

extension Endpoint {
    /// An address one peer gives others to connect to: a port, and a host of 1 to 255 bytes.
    public func validate() throws(DFSError) {
        try Check.range(port, 1...65535, "port")
        guard !host.isEmpty, host.utf8.count <= 255 else {
            throw DFSError(.invalidArgument, "host '\(host.prefix(Limits.quotedCharactersMax))' is not 1 to 255 bytes")
        }
    }
}

extension ErrorMessage {
    public func validate() throws(DFSError) {
        try error.active?.validate()
    }
}

extension NodeAddress {
    public func validate() throws(DFSError) {
        guard nodeID.isWellFormed else {
            throw DFSError(.invalidArgument, "node id '\(nodeID.rawValue.prefix(Limits.quotedCharactersMax))' is not 1 to 64 letters, digits and '-'")
        }
        try address.validate()
    }
}

// MARK: Data node to meta server

extension RegisterNode {
    public func validate() throws(DFSError) {
        try Check.range(port, 1...65535, "port")
        if let host, host.utf8.count > 255 {
            throw DFSError(.invalidArgument, "host '\(host.prefix(Limits.quotedCharactersMax))...' is longer than 255 bytes")
        }
        try Check.nodeSpace(capacityBytes: capacityBytes, usedBytes: usedBytes, blockCount: blockCount)
    }
}

extension RegisterNodeOK {
    /// The longest heartbeat interval a node accepts: a day.
    static let heartbeatMillisecondsMax = 24 * 3600 * 1000

    public func validate() throws(DFSError) {
        try address.validate()
        try Check.range(heartbeatMilliseconds, 1...Self.heartbeatMillisecondsMax, "heartbeatMilliseconds")
    }
}

extension BlockSummary {
    public func validate() throws(DFSError) {
        try Check.range(length, 0...Limits.blockBytesMax, "length of block \(blockID)")
    }
}

extension Heartbeat {
    public func validate() throws(DFSError) {
        try Check.nodeSpace(capacityBytes: capacityBytes, usedBytes: usedBytes, blockCount: blockCount)
        try Check.range(copiesInFlight, 0...Limits.nodeBlocksMax, "copiesInFlight")
        try Check.range(bytesWritten ?? 0, 0...Limits.byteCounterMax, "bytesWritten")
        try Check.range(bytesRead ?? 0, 0...Limits.byteCounterMax, "bytesRead")
        try Check.count(added.count, atMost: Self.changesMax, "added")
        try Check.count(deleted.count, atMost: Self.changesMax, "deleted")
        try Check.count(corrupt.count, atMost: Self.changesMax, "corrupt")
        try Check.count(verified?.count ?? 0, atMost: Self.changesMax, "verified")
        for summary in added + (verified ?? []) { try summary.validate() }
    }
}

extension CopyBlockCommand {
    public func validate() throws(DFSError) {
        try target.validate()
    }
}

extension HeartbeatOK {
    public func validate() throws(DFSError) {
        try Check.count(deleteBlocks.count, atMost: Heartbeat.changesMax, "deleteBlocks")
        try Check.count(copyBlocks.count, atMost: Heartbeat.changesMax, "copyBlocks")
        try Check.count(verifyBlocks?.count ?? 0, atMost: Self.verifyBlocksMax, "verifyBlocks")
        for command in copyBlocks { try command.validate() }
    }
}

extension BlockReport {
    public func validate() throws(DFSError) {
        try Check.count(blocks.count, atMost: Self.blocksPerPage, "a block report page")
        for summary in blocks { try summary.validate() }
    }
}

// MARK: Client and meta server

extension CreateFile {
    public func validate() throws(DFSError) {
        try Check.replication(replication)
        try Check.blockBytes(blockBytes)
    }
}

extension CreateFileOK {
    public func validate() throws(DFSError) {
        try Check.range(replication, 1...Limits.replicationMax, "replication")
        try Check.leaseMilliseconds(leaseMilliseconds)
        try firstBlock?.validate()
    }
}

extension AllocateBlock {
    public func validate() throws(DFSError) {
        try Check.blockIndex(blockIndex)
    }
}

extension AllocateBlockOK {
    public func validate() throws(DFSError) {
        try Check.targets(targets)
    }
}

extension CommittedBlock {
    public func validate() throws(DFSError) {
        try Check.blockIndex(blockIndex)
        try Check.range(length, 1...Limits.blockBytesMax, "length of block \(blockID)")
        try Check.count(nodes.count, atMost: Limits.replicationMax, "nodes of block \(blockID)", code: .invalidArgument)
    }
}

extension CompleteFile {
    public func validate() throws(DFSError) {
        try Check.range(size, 0...Limits.fileBytesMax, "size")
        try Check.count(blocks.count, atMost: Limits.blocksPerFileMax, "blocks")
        for block in blocks { try block.validate() }
        try FileInfo.checkETagAndProperties(etag: etag, properties: properties)
    }
}

extension CompleteFileOK {
    public func validate() throws(DFSError) {
        try info.validate()
    }
}

extension CreateFiles {
    public func validate() throws(DFSError) {
        try Check.count(files.count, atMost: Limits.filesPerBatchMax, "a batch")
        try Check.replication(replication)
        try Check.blockBytes(blockBytes)
        for file in files {
            guard (0...blockBytes).contains(file.size) else {
                throw DFSError(.invalidArgument, "\(file.path) has \(file.size) bytes; a batched file fits in one block of \(blockBytes)")
            }
            try FileInfo.checkAttributes(mode: file.mode, uid: file.uid, gid: file.gid, of: file.path)
        }
    }
}

extension CreateFilesOK {
    public func validate() throws(DFSError) {
        try Check.range(replication, 1...Limits.replicationMax, "replication")
        try Check.leaseMilliseconds(leaseMilliseconds)
        try Check.targets(targets)
        try Check.count(files.count, atMost: Limits.filesPerBatchMax, "files")
    }
}

extension CompleteFiles {
    public func validate() throws(DFSError) {
        try Check.count(files.count, atMost: Limits.filesPerBatchMax, "a batch")
        for file in files { try file.validate() }
    }
}

extension CompleteFilesOK {
    public func validate() throws(DFSError) {
        try Check.count(files.count, atMost: Limits.filesPerBatchMax, "files")
    }
}

extension FileInfo {
    /// The latest modification time a listing may show: about the year 5000. `ls` turns it
    /// into a `time_t`, which a larger number would not fit.
    static let mtimeMax = 1e11

    public func validate() throws(DFSError) {
        try Check.range(size, 0...Limits.fileBytesMax, "size of \(path)")
        try Check.range(replication, 0...Limits.replicationMax, "replication of \(path)")
        try Check.range(blockBytes, 0...Limits.blockBytesMax, "blockBytes of \(path)")
        guard mtime.isFinite, abs(mtime) <= Self.mtimeMax else {
            throw DFSError(.invalidArgument, "mtime \(mtime) of \(path) is not a time")
        }
        try Self.checkAttributes(mode: mode, uid: uid, gid: gid, of: path)
        if let target { try Self.checkLinkTarget(target, of: path) }
        try Self.checkETagAndProperties(etag: etag, properties: properties)
    }

    /// An entity tag of 1 to ``Limits/etagBytesMax`` printable ASCII characters other than
    /// `"` and space; at most ``Limits/propertiesCountMax`` properties, with names of 1 to
    /// 256 bytes, of at most ``Limits/propertiesBytesMax`` bytes together, without NULs.
    public static func checkETagAndProperties(etag: String?, properties: [String: String]?) throws(DFSError) {
        if let etag {
            guard (1...Limits.etagBytesMax).contains(etag.utf8.count), etag.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") })
            else {
                throw DFSError(.invalidArgument, "an etag must be 1 to \(Limits.etagBytesMax) printable ASCII characters without quotes or spaces")
            }
        }
        guard let properties else { return }
        try Check.count(properties.count, atMost: Limits.propertiesCountMax, "properties")
        var bytes = 0
        for (name, value) in properties {
            guard (1...256).contains(name.utf8.count), !name.utf8.contains(0), !value.utf8.contains(0) else {
                throw DFSError(.invalidArgument, "a property name must be 1 to 256 bytes, and names and values without NUL")
            }
            bytes += name.utf8.count + value.utf8.count
        }
        guard bytes <= Limits.propertiesBytesMax else {
            throw DFSError(.invalidArgument, "properties of \(bytes) bytes; at most \(Limits.propertiesBytesMax) are stored")
        }
    }

    /// Permission bits within `0o7777`, owner and group ids within 32 bits.
    public static func checkAttributes(mode: Int?, uid: Int?, gid: Int?, of path: DFSPath) throws(DFSError) {
        if let mode { try Check.range(mode, 0...0o7777, "mode of \(path)") }
        if let uid { try Check.range(uid, 0...Int(UInt32.max - 1), "uid of \(path)") }
        if let gid { try Check.range(gid, 0...Int(UInt32.max - 1), "gid of \(path)") }
    }

    /// A link's target: not empty, at most ``Limits/pathBytesMax`` bytes, no NUL (the
    /// limits of `symlink(2)`).
    public static func checkLinkTarget(_ target: String, of path: DFSPath) throws(DFSError) {
        guard !target.isEmpty, target.utf8.count <= Limits.pathBytesMax, !target.utf8.contains(0) else {
            throw DFSError(.invalidArgument, "the link target of \(path) must be 1 to \(Limits.pathBytesMax) bytes without a NUL")
        }
    }
}

extension SetAttributes {
    public func validate() throws(DFSError) {
        try FileInfo.checkAttributes(mode: mode, uid: uid, gid: gid, of: path)
        if let mtime, !mtime.isFinite || abs(mtime) > FileInfo.mtimeMax {
            throw DFSError(.invalidArgument, "mtime \(mtime) of \(path) is not a time")
        }
    }
}

extension MakeLink {
    public func validate() throws(DFSError) {
        try FileInfo.checkLinkTarget(target, of: path)
    }
}

extension BlockLocation {
    public func validate() throws(DFSError) {
        try Check.blockIndex(blockIndex)
        try Check.range(length, 0...Limits.blockBytesMax, "length of block \(blockID)")
    }
}

extension GetFileOK {
    public func validate() throws(DFSError) {
        try info.validate()
        try Check.count(blocks.count, atMost: Limits.blocksPerFileMax, "blocks")
        for block in blocks { try block.validate() }
    }
}

extension GetFiles {
    public func validate() throws(DFSError) {
        try Check.batch(paths.count, atMost: Limits.pathsPerGetFilesMax, "a getFiles", of: "paths")
    }
}

extension GetFilesOK {
    public func validate() throws(DFSError) {
        try Check.count(files.count, atMost: Limits.pathsPerGetFilesMax, "a getFilesOK")
        for found in files {
            guard (found.file == nil) != (found.error == nil) else {
                throw DFSError(.invalidArgument, "each answer of a getFilesOK holds a file or an error, not both or neither")
            }
            try found.file?.validate()
        }
    }
}

extension ListOK {
    public func validate() throws(DFSError) {
        try info.validate()
        try Check.count(entries.count, atMost: Limits.listEntriesMax, "a listing")
        for entry in entries { try entry.validate() }
        guard let blocks else { return }
        guard blocks.count == entries.count else {
            throw DFSError(.invalidArgument, "a listing of \(entries.count) entries carries blocks for \(blocks.count)")
        }
        for block in blocks.lazy.compactMap({ $0 }).joined() {
            try block.validate()
            try Check.count(block.replicas.count, atMost: Limits.replicationMax, "replicas of block \(block.blockID)", code: .invalidArgument)
        }
        for (entry, fileBlocks) in zip(entries, blocks) {
            guard let fileBlocks else { continue }
            try Check.count(fileBlocks.count, atMost: Self.blocksPerEntryMax, "blocks of \(entry.path)", code: .invalidArgument)
            guard entry.type == .file, fileBlocks.reduce(0, { $0 + $1.length }) == entry.size else {
                throw DFSError(.invalidArgument, "the blocks listed for \(entry.path) do not make up its \(entry.size) bytes")
            }
        }
    }
}

// MARK: Data nodes

extension WriteBlock {
    public func validate() throws(DFSError) {
        try Check.range(length, 1...Limits.blockBytesMax, "block length")
        try Check.pipeline(pipeline)
    }
}

extension Check {
    /// The nodes a pipeline reply names: at most one per replica.
    static func pipelineNodes(stored: [NodeID], failed: [NodeID], stalled: [NodeID]?) throws(DFSError) {
        for (list, name) in [(stored, "stored"), (failed, "failed"), (stalled ?? [], "stalled")] {
            try count(list.count, atMost: Limits.replicationMax, name, code: .invalidArgument)
        }
    }
}

extension WriteBlockOK {
    public func validate() throws(DFSError) {
        try Check.range(length, 0...Limits.blockBytesMax, "block length")
        try Check.pipelineNodes(stored: stored, failed: failed, stalled: stalled)
    }
}

extension BatchBlock {
    public func validate() throws(DFSError) {
        try Check.range(length, 1...Limits.payloadBytesMax, "length of block \(blockID)")
        try Check.count(checksums.count, atMost: BlockData.checksumsMax, "checksums of block \(blockID)", code: .invalidArgument)
    }
}

extension WriteBlocks {
    public func validate() throws(DFSError) {
        guard (1...Limits.filesPerBatchMax).contains(blocks.count) else {
            throw DFSError(.invalidArgument, "a batch holds 1 to \(Limits.filesPerBatchMax) blocks, not \(blocks.count)")
        }
        for block in blocks { try block.validate() }
        try Check.pipeline(pipeline)
    }
}

extension WriteBlocksOK {
    public func validate() throws(DFSError) {
        try Check.count(checksums.count, atMost: Limits.filesPerBatchMax, "checksums")
        try Check.pipelineNodes(stored: stored, failed: failed, stalled: stalled)
    }
}

extension ReadBlock {
    public func validate() throws(DFSError) {
        try Check.range(offset, 0...Limits.blockBytesMax, "offset")
        guard offset % Limits.pieceBytes == 0 else {
            throw DFSError(.invalidArgument, "offset \(offset) is not a multiple of 64 KiB")
        }
        if let length { try Check.range(length, 0...Limits.blockBytesMax, "length") }
    }
}

extension ReadBlockOK {
    public func validate() throws(DFSError) {
        try Check.range(blockLength, 0...Limits.blockBytesMax, "blockLength")
        try Check.range(length, 0...blockLength, "length")
    }
}

extension ReadBlocks {
    public func validate() throws(DFSError) {
        try Check.batch(blocks.count, atMost: Limits.blocksPerReadMax, "a readBlocks", of: "blocks")
    }
}

extension ReadBlocksOK {
    public func validate() throws(DFSError) {
        try Check.count(blocks.count, atMost: Limits.blocksPerReadMax, "a readBlocksOK")
        var total = 0
        for outcome in blocks {
            guard case .served(let length, let checksums) = outcome else { continue }
            try Check.range(length, 0...Limits.payloadBytesMax, "length of a served block")
            let pieces = (length + Limits.pieceBytes - 1) / Limits.pieceBytes
            guard checksums.count == pieces else {
                throw DFSError(.invalidArgument, "a served block of \(length) bytes has \(checksums.count) piece checksums, not \(pieces)")
            }
            total += length
        }
        try Check.range(total, 0...Limits.payloadBytesMax, "bytes of the served blocks")
    }
}

extension BlockData {
    /// Pieces in the largest payload: one checksum each.
    public static let checksumsMax = (Limits.payloadBytesMax + Limits.pieceBytes - 1) / Limits.pieceBytes

    public func validate() throws(DFSError) {
        try Check.count(checksums.count, atMost: Self.checksumsMax, "checksums", code: .invalidArgument)
    }
}

// MARK: Leases

extension Check {
    /// A lease a meta server states: at least a millisecond, at most about 35 years.
    static func leaseMilliseconds(_ value: Int?) throws(DFSError) {
        if let value { try range(value, 1...(1 << 40), "leaseMilliseconds") }
    }
}

extension RenewLeases {
    public func validate() throws(DFSError) {
        try Check.count(fileIDs.count, atMost: Limits.leaseRenewalsMax, "a renewal")
    }
}

extension RenewLeasesOK {
    public func validate() throws(DFSError) {
        try Check.count(unknown.count, atMost: Limits.leaseRenewalsMax, "unknown")
        try Check.leaseMilliseconds(leaseMilliseconds)
    }
}

// MARK: Backups

extension BackupOK {
    public func validate() throws(DFSError) {
        try Check.range(bytes, 0...Limits.backupBytesMax, "bytes")
        try Check.range(files, 0...Limits.nodeBlocksMax, "files")
        try Check.range(schemaVersion, 0...Int(Int32.max), "schemaVersion")
    }
}
