/// Asks for a file's metadata and block locations.
public struct GetFile: Message {
    public static let type = MessageType.getFile
    public var path: DFSPath
    public init(path: DFSPath) { self.path = path }
}

public enum EntryType: String, Codable, Sendable {
    /// `link`: a symbolic link, kept in the namespace only (its ``FileInfo/target``).
    case file, dir, link
}

/// A file or folder as `ls` and `stat` show it.
public struct FileInfo: Codable, Hashable, Sendable {
    public var path: DFSPath
    public var type: EntryType
    public var size: Int
    /// Modification time, seconds since 1970.
    public var mtime: Double
    public var replication: Int
    public var blockBytes: Int
    /// SHA-256 of a file's bytes, lower-case hex, when the writer asked for one (it costs
    /// the writer about as much CPU as the rest of the upload); nil for folders.
    public var sha256: String?
    /// CRC32C of the whole file, combined by the meta server from its blocks' checksums when
    /// the file is completed; nil for folders (and files written before dfs recorded it).
    public var crc32c: UInt32?
    /// Permission bits (`0o7777` at most), owner and group, as `chmod` and `chown` set them;
    /// nil until set (a reader shows its defaults: 0644 for files, 0755 for folders).
    public var mode: Int?
    public var uid: Int?
    public var gid: Int?
    /// What a link points to (``EntryType/link``), as `ln -s` was given it; its `size` is
    /// the target's length in bytes, as `lstat` gives it.
    public var target: String?
    /// An entity tag the writer gave this version (``CompleteFile/etag``): the S3 gateway's
    /// ETag, shown in listings too. Nil when none was given.
    public var etag: String?
    /// Named values the writer stored with this version (``CompleteFile/properties``: an S3
    /// object's content type and user metadata), at most ``Limits/propertiesBytesMax``
    /// bytes. Given by `getFile` and `getFiles`, never in listings (nil there); a new
    /// version has only its own.
    public var properties: [String: String]?
    public init(
        path: DFSPath, type: EntryType, size: Int, mtime: Double, replication: Int, blockBytes: Int, sha256: String? = nil,
        crc32c: UInt32? = nil, mode: Int? = nil, uid: Int? = nil, gid: Int? = nil, target: String? = nil, etag: String? = nil,
        properties: [String: String]? = nil
    ) {
        self.path = path
        self.type = type
        self.size = size
        self.mtime = mtime
        self.replication = replication
        self.blockBytes = blockBytes
        self.sha256 = sha256
        self.crc32c = crc32c
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.target = target
        self.etag = etag
        self.properties = properties
    }
}

/// A block of a file and the nodes that hold it.
public struct BlockLocation: Codable, Hashable, Sendable {
    public var blockID: BlockID
    public var blockIndex: Int
    public var length: Int
    /// CRC32C of the whole block.
    public var checksum: UInt32
    /// Good replicas; corrupt ones are left out.
    public var replicas: [NodeAddress]
    /// Lets the holder read this block from its nodes, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, blockIndex: Int, length: Int, checksum: UInt32 = 0, replicas: [NodeAddress], token: String? = nil) {
        self.blockID = blockID
        self.blockIndex = blockIndex
        self.length = length
        self.checksum = checksum
        self.replicas = replicas
        self.token = token
    }
}

public struct GetFileOK: Message {
    public static let type = MessageType.getFileOK
    public var info: FileInfo
    /// Empty for a folder.
    public var blocks: [BlockLocation]
    public init(info: FileInfo, blocks: [BlockLocation]) {
        self.info = info
        self.blocks = blocks
    }
}

/// Many `getFile`s in one request, for commands of many paths (`dfs stat`, `dfs cat`).
public struct GetFiles: Message {
    public static let type = MessageType.getFiles
    public var paths: [DFSPath]
    public init(paths: [DFSPath]) { self.paths = paths }
}

/// One path's answer in a `getFilesOK`: what `getFile` would have said, or its error.
public struct FoundFile: Codable, Sendable {
    public var file: GetFileOK?
    public var error: DFSError?
    public init(file: GetFileOK? = nil, error: DFSError? = nil) {
        self.file = file
        self.error = error
    }
}

/// The answers to the first paths of a `getFiles`, in its order: all of them, or as many as
/// fit one header (see ``Limits/getFilesReplyBytes``); the client asks again for the rest.
public struct GetFilesOK: Message {
    public static let type = MessageType.getFilesOK
    public var files: [FoundFile]
    public init(files: [FoundFile]) { self.files = files }
}

/// Lists a folder one page at a time, in name order.
public struct List: Message {
    public static let type = MessageType.list
    public var path: DFSPath
    /// Start after this name; nil for the first page.
    public var after: String?
    public var limit: Int
    /// Send every page, one `listOK` after another, without waiting for a request per page;
    /// the last has `more` false. The reader's pace (TCP's window) holds the sender back.
    public var stream: Bool?
    /// Each file of at most one block comes with its block (its id, length, checksum,
    /// replicas and read token), so a reader of many small files needs no `getFile` per
    /// file; pages then hold at most ``Limits/listEntriesWithBlocksMax`` entries.
    public var withBlocks: Bool?
    public init(path: DFSPath, after: String? = nil, limit: Int = Limits.listEntriesMax, stream: Bool? = nil, withBlocks: Bool? = nil) {
        self.path = path
        self.after = after
        self.limit = limit
        self.stream = stream
        self.withBlocks = withBlocks
    }
}

public struct ListOK: Message {
    public static let type = MessageType.listOK
    /// The listed path itself: a folder, or the file when a file was listed.
    public var info: FileInfo
    public var entries: [FileInfo]
    /// True when more entries follow the last one returned.
    public var more: Bool
    /// With `withBlocks`: one per entry, the blocks of a file of at most one block (empty
    /// for an empty file), nil for a folder or a larger file. Nil without `withBlocks`.
    public var blocks: [[BlockLocation]?]?
    public init(info: FileInfo, entries: [FileInfo], more: Bool, blocks: [[BlockLocation]?]? = nil) {
        self.info = info
        self.entries = entries
        self.more = more
        self.blocks = blocks
    }

    /// Blocks one entry of a page with blocks carries at most: a larger file is read the
    /// usual way, with `getFile`.
    public static let blocksPerEntryMax = 1

    // Entries travel as rows, `[name, type, size, mtime, replication, blockBytes, sha256 or
    // null, crc32c or null, attributes or null]` (the last two may be missing), not as
    // objects: a listing is thousands of them, and rows are about half the bytes and decode
    // in about half the time (no keys to match). A name is one path component; the entry's
    // path is the listed folder's path plus the name. The attributes are `[mode, uid, gid,
    // target, etag]`, each null when not set (`etag` may be missing). With blocks, each row has a tenth element: null, or the
    // file's blocks as rows `[blockID, length, checksum, [node, ...], token or null]`, each
    // node an index into the page's `nodes` (a block's index is its place in the list).
    private enum CodingKeys: String, CodingKey { case info, entries, more, nodes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        info = try container.decode(FileInfo.self, forKey: .info)
        more = try container.decode(Bool.self, forKey: .more)
        let nodes = try container.decodeIfPresent([NodeAddress].self, forKey: .nodes)
        var rows = try container.nestedUnkeyedContainer(forKey: .entries)
        var entries: [FileInfo] = []
        var blocks: [[BlockLocation]?] = []
        entries.reserveCapacity(min(rows.count ?? 0, Limits.listEntriesMax))
        while !rows.isAtEnd {
            var row = try rows.nestedUnkeyedContainer()
            let name = try row.decode(String.self)
            let type = try row.decode(EntryType.self)
            let size = try row.decode(Int.self)
            let mtime = try row.decode(Double.self)
            let replication = try row.decode(Int.self)
            let blockBytes = try row.decode(Int.self)
            let sha256 = try row.decodeNil() ? nil : try row.decode(String.self)
            let crc32c = try row.isAtEnd || row.decodeNil() ? nil : try row.decode(UInt32.self)
            var entry = FileInfo(
                path: try info.path.appending(name), type: type, size: size, mtime: mtime, replication: replication,
                blockBytes: blockBytes, sha256: sha256, crc32c: crc32c)
            if !row.isAtEnd, try !row.decodeNil() {
                var attributes = try row.nestedUnkeyedContainer()
                entry.mode = try attributes.decode(Int?.self)
                entry.uid = try attributes.decode(Int?.self)
                entry.gid = try attributes.decode(Int?.self)
                entry.target = try attributes.decode(String?.self)
                if !attributes.isAtEnd { entry.etag = try attributes.decode(String?.self) }
            }
            entries.append(entry)
            if let nodes { blocks.append(try Self.decodeBlocks(&row, nodes: nodes)) }
        }
        self.entries = entries
        self.blocks = nodes == nil ? nil : blocks
    }

    private static func decodeBlocks(_ row: inout any UnkeyedDecodingContainer, nodes: [NodeAddress]) throws -> [BlockLocation]? {
        guard !row.isAtEnd, try !row.decodeNil() else { return nil }
        var list = try row.nestedUnkeyedContainer()
        var blocks: [BlockLocation] = []
        while !list.isAtEnd {
            var block = try list.nestedUnkeyedContainer()
            let blockID = try block.decode(BlockID.self)
            let length = try block.decode(Int.self)
            let checksum = try block.decode(UInt32.self)
            var replicaRows = try block.nestedUnkeyedContainer()
            var replicas: [NodeAddress] = []
            while !replicaRows.isAtEnd {
                let node = try replicaRows.decode(Int.self)
                guard nodes.indices.contains(node) else {
                    throw DFSError(.invalidArgument, "block \(blockID) names node \(node) of a table of \(nodes.count)")
                }
                replicas.append(nodes[node])
            }
            let token = try block.decodeNil() ? nil : try block.decode(String.self)
            blocks.append(
                BlockLocation(blockID: blockID, blockIndex: blocks.count, length: length, checksum: checksum, replicas: replicas, token: token))
        }
        return blocks
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(info, forKey: .info)
        try container.encode(more, forKey: .more)
        // Each node once per page: a replica is its index in this table.
        var nodes: [NodeAddress] = []
        var nodeIndex: [NodeID: Int] = [:]
        if let blocks {
            for replica in blocks.lazy.compactMap({ $0 }).joined().flatMap(\.replicas) where nodeIndex[replica.nodeID] == nil {
                nodeIndex[replica.nodeID] = nodes.count
                nodes.append(replica)
            }
            try container.encode(nodes, forKey: .nodes)
        }
        var rows = container.nestedUnkeyedContainer(forKey: .entries)
        for (position, entry) in entries.enumerated() {
            var row = rows.nestedUnkeyedContainer()
            try row.encode(entry.path.name)
            try row.encode(entry.type)
            try row.encode(entry.size)
            try row.encode(entry.mtime)
            try row.encode(entry.replication)
            try row.encode(entry.blockBytes)
            if let sha256 = entry.sha256 { try row.encode(sha256) } else { try row.encodeNil() }
            if let crc32c = entry.crc32c { try row.encode(crc32c) } else { try row.encodeNil() }
            if entry.mode != nil || entry.uid != nil || entry.gid != nil || entry.target != nil || entry.etag != nil {
                var attributes = row.nestedUnkeyedContainer()
                try attributes.encode(entry.mode)
                try attributes.encode(entry.uid)
                try attributes.encode(entry.gid)
                try attributes.encode(entry.target)
                if let etag = entry.etag { try attributes.encode(etag) }
            } else {
                try row.encodeNil()
            }
            guard let blocks else { continue }
            guard position < blocks.count, let fileBlocks = blocks[position] else {
                try row.encodeNil()
                continue
            }
            var list = row.nestedUnkeyedContainer()
            for block in fileBlocks {
                var blockRow = list.nestedUnkeyedContainer()
                try blockRow.encode(block.blockID)
                try blockRow.encode(block.length)
                try blockRow.encode(block.checksum)
                var replicaRows = blockRow.nestedUnkeyedContainer()
                for replica in block.replicas { try replicaRows.encode(nodeIndex[replica.nodeID] ?? 0) }
                if let token = block.token { try blockRow.encode(token) } else { try blockRow.encodeNil() }
            }
        }
    }
}

/// A client found a replica it could not use: a checksum mismatch, a short or missing block.
/// A hint, not a verdict: the meta server marks the replica suspect, lists it last, and asks
/// its node to re-verify it (see Durability in `Docs/ARCHITECTURE.md`).
public struct ReportBadReplica: Message {
    public static let type = MessageType.reportBadReplica
    public var blockID: BlockID
    public var nodeID: NodeID
    public var reason: String
    public init(blockID: BlockID, nodeID: NodeID, reason: String) {
        self.blockID = blockID
        self.nodeID = nodeID
        self.reason = reason
    }

    /// The part of a reason the meta server keeps for its log, as for ``ReportSlowNode``.
    public static let reasonBytesMax = 200
}

// The replies a busy meta server sends most write their JSON by hand (``WireJSONWritable``),
// field for field what their synthesized `encode(to:)` writes.

extension Endpoint: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("host")
        json.string(host)
        json.key("port")
        json.integer(port)
        json.endObject()
    }
}

extension NodeAddress: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("nodeID")
        json.string(nodeID.rawValue)
        json.key("address")
        json.value(address)
        json.endObject()
    }
}

extension FileInfo {
    /// The permission bits a reader shows: the stored ones, or 0755 for a folder, 0777 for a
    /// link and 0644 for a file when none were set.
    public var shownMode: Int {
        mode ?? (type == .dir ? 0o755 : type == .link ? 0o777 : 0o644)
    }

    /// `drwxr-xr-x`, `-rw-r--r--`, `lrwxrwxrwx`, as `ls -l` shows an entry's type and
    /// ``shownMode`` (with setuid, setgid and sticky bits as `s`, `S`, `t`, `T`).
    public var modeString: String {
        let bits = shownMode
        var text = type == .dir ? "d" : type == .link ? "l" : "-"
        let special = [0o4000, 0o2000, 0o1000]
        for (index, shift) in [6, 3, 0].enumerated() {
            let triple = (bits >> shift) & 7
            text += triple & 4 != 0 ? "r" : "-"
            text += triple & 2 != 0 ? "w" : "-"
            let executable = triple & 1 != 0
            if bits & special[index] != 0 {
                let mark: (Character, Character) = index == 2 ? ("t", "T") : ("s", "S")
                text.append(executable ? mark.0 : mark.1)
            } else {
                text += executable ? "x" : "-"
            }
        }
        return text
    }
}

extension FileInfo: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("path")
        json.string(path.string)
        json.key("type")
        json.string(type.rawValue)
        json.key("size")
        json.integer(size)
        json.key("mtime")
        json.double(mtime)
        json.key("replication")
        json.integer(replication)
        json.key("blockBytes")
        json.integer(blockBytes)
        if let sha256 {
            json.key("sha256")
            json.string(sha256)
        }
        if let crc32c {
            json.key("crc32c")
            json.integer(crc32c)
        }
        if let mode {
            json.key("mode")
            json.integer(mode)
        }
        if let uid {
            json.key("uid")
            json.integer(uid)
        }
        if let gid {
            json.key("gid")
            json.integer(gid)
        }
        if let target {
            json.key("target")
            json.string(target)
        }
        if let etag {
            json.key("etag")
            json.string(etag)
        }
        if let properties {
            json.key("properties")
            json.beginObject()
            for name in properties.keys.sorted() {
                json.key(text: name)
                json.string(properties[name] ?? "")
            }
            json.endObject()
        }
        json.endObject()
    }
}

extension BlockLocation: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("blockID")
        json.integer(blockID.rawValue)
        json.key("blockIndex")
        json.integer(blockIndex)
        json.key("length")
        json.integer(length)
        json.key("checksum")
        json.integer(checksum)
        json.key("replicas")
        json.array(replicas)
        if let token {
            json.key("token")
            json.string(token)
        }
        json.endObject()
    }
}

extension GetFileOK: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("info")
        json.value(info)
        json.key("blocks")
        json.array(blocks)
        json.endObject()
    }
}

extension DFSError: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("code")
        json.string(code.rawValue)
        json.key("message")
        json.string(message)
        if let transient {
            json.key("transient")
            json.bool(transient)
        }
        if let active {
            json.key("active")
            json.value(active)
        }
        json.endObject()
    }
}

extension FoundFile: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        if let file {
            json.key("file")
            json.value(file)
        }
        if let error {
            json.key("error")
            json.value(error)
        }
        json.endObject()
    }
}

extension GetFilesOK: WireJSONWritable {
    public func write(to json: inout WireJSONWriter) {
        json.beginObject()
        json.key("files")
        json.array(files)
        json.endObject()
    }
}
