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
