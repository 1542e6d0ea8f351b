import DFSCore

extension MetaStore {
    /// A complete file of one block, as ``importFiles(_:now:)`` records it.
    public struct ImportedFile: Sendable {
        public var path: DFSPath
        public var size: Int
        public var checksum: UInt32
        public var nodes: [NodeID]
        public init(path: DFSPath, size: Int, checksum: UInt32, nodes: [NodeID]) {
            self.path = path
            self.size = size
            self.checksum = checksum
            self.nodes = nodes
        }
    }

    /// Records many complete one-block files in one transaction, with their folders: how a
    /// namespace of millions of files is built quickly to measure the meta server at that
    /// scale (`dfs bench --scale`). Each path must be free; the first taken one fails the
    /// whole batch.
    public func importFiles(_ files: [ImportedFile], now: Double) throws(DFSError) {
        try database.transaction { () throws(DFSError) in
            // Paths, not strings: a set of strings would take `/é` and `/e` + U+0301 for one.
            var folders = Set<DFSPath>()
            for file in files {
                guard let parent = file.path.parent, (1...Limits.blockBytesMax).contains(file.size) else {
                    throw DFSError(.invalidArgument, "cannot import \(file.path) of \(file.size) bytes")
                }
                try file.path.validateForCreation()
                if !folders.contains(parent) {
                    for folder in file.path.ancestors where folders.insert(folder).inserted {
                        if try completeFileID(folder) != nil {
                            throw DFSError(.notADirectory, "\(folder) is a file, so \(file.path) cannot be imported under it")
                        }
                        try database.run(
                            "INSERT INTO dirs(path, parent, name, mtime) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            [.text(folder.string), .text(folder.parent!.string), .text(folder.name), .real(now)])
                    }
                }
                let isFile = try completeFileID(file.path) != nil
                let isFolder = try isFolder(file.path)
                if isFile || isFolder {
                    throw DFSError(.alreadyExists, "\(file.path) already exists")
                }
                let fileID = try database.insertReturningID(
                    """
                    INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created)
                    VALUES(?, ?, ?, ?, ?, ?, ?, 1, ?)
                    """,
                    [
                        .text(file.path.string), .text(parent.string), .text(file.path.name), .int(file.size), .real(now),
                        .int(file.nodes.count), .int(max(file.size, Limits.blockBytesMin)), .real(now),
                    ])
                let blockID = try database.insertReturningID(
                    "INSERT INTO blocks(file_id, block_index, length, checksum) VALUES(?, 0, ?, ?)",
                    [.integer(fileID), .int(file.size), .integer(Int64(file.checksum))])
                for node in file.nodes {
                    try database.run("INSERT INTO replicas(block_id, node_id) VALUES(?, ?)", [.integer(blockID), .text(node.rawValue)])
                }
            }
        }
    }
}
