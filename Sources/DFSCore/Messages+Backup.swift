/// A request for a consistent copy of the meta server's whole database (`dfs meta-backup`).
///
/// The server snapshots its SQLite database with SQLite's online backup API while it goes
/// on serving, checks the copy, and answers ``BackupOK`` followed by ``BackupData`` frames
/// carrying the copy's bytes. Any member holding the cluster secret may ask: members are
/// trusted with the whole namespace.
public struct BackupRequest: Message {
    public static let type = MessageType.backup
    public init() {}
}

/// The answer to `backup`: what the copy holds. Exactly `bytes` bytes follow in
/// ``BackupData`` frames.
public struct BackupOK: Message {
    public static let type = MessageType.backupOK
    /// Length of the database file that follows.
    public var bytes: Int
    /// Complete files in the copy.
    public var files: Int
    /// CRC32C of the whole copy, for the receiver to check what it wrote.
    public var crc32c: UInt32
    /// The copy's schema version (`PRAGMA user_version`).
    public var schemaVersion: Int
    public init(bytes: Int, files: Int, crc32c: UInt32, schemaVersion: Int) {
        self.bytes = bytes
        self.files = files
        self.crc32c = crc32c
        self.schemaVersion = schemaVersion
    }
}

/// A piece of a backup: its bytes are the frame's payload (at most
/// ``Limits/backupFrameBytes``, never empty), in order, until ``BackupOK/bytes`` have come.
public struct BackupData: Message {
    public static let type = MessageType.backupData
    public init() {}
}
