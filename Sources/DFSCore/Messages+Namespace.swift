/// Creates a folder and any missing folders above it; an existing folder is fine.
public struct MakeDirectory: Message {
    public static let type = MessageType.makeDirectory
    public var path: DFSPath
    public init(path: DFSPath) { self.path = path }
}

/// Renames a file or a folder in one transaction; no block moves. Onto an existing folder the
/// source goes inside it; onto an existing file, a file replaces it.
public struct Move: Message {
    public static let type = MessageType.move
    public var source: DFSPath
    public var target: DFSPath
    public init(source: DFSPath, target: DFSPath) {
        self.source = source
        self.target = target
    }
}

/// Removes a file, an empty folder, or (with `recursive`) a folder tree.
public struct Remove: Message {
    public static let type = MessageType.remove
    public var path: DFSPath
    public var recursive: Bool
    public init(path: DFSPath, recursive: Bool) {
        self.path = path
        self.recursive = recursive
    }
}

/// Sets a file's or folder's permission bits, owner, group or modification time (`chmod`,
/// `chown`, `touch`); what is nil stays as it is.
public struct SetAttributes: Message {
    public static let type = MessageType.setAttributes
    public var path: DFSPath
    public var mode: Int?
    public var uid: Int?
    public var gid: Int?
    public var mtime: Double?
    public init(path: DFSPath, mode: Int? = nil, uid: Int? = nil, gid: Int? = nil, mtime: Double? = nil) {
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
    }
}

/// Makes a symbolic link at `path` pointing to `target` (`ln -s TARGET PATH`), its folders
/// made as a file's are. The target is kept as given and never followed by the cluster.
/// With `overwrite`, a file or link at `path` is replaced, as an upload replaces it.
public struct MakeLink: Message {
    public static let type = MessageType.makeLink
    public var path: DFSPath
    public var target: String
    public var overwrite: Bool
    public init(path: DFSPath, target: String, overwrite: Bool = false) {
        self.path = path
        self.target = target
        self.overwrite = overwrite
    }
}
