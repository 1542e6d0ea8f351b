import DFSCore

/// The schema, as the list of steps that build it. The database's `PRAGMA user_version` says
/// how many have run; a new version appends a step, never edits an old one.
enum MetaSchema {
    static let migrations: [String] = [
        // Version 1.
        """
        CREATE TABLE nodes(
            id TEXT PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL,
            capacity INTEGER NOT NULL, used INTEGER NOT NULL, block_count INTEGER NOT NULL,
            last_heartbeat REAL NOT NULL);
        CREATE TABLE dirs(path TEXT PRIMARY KEY, parent TEXT NOT NULL, name TEXT NOT NULL, mtime REAL NOT NULL);
        CREATE INDEX dirs_parent ON dirs(parent, name);
        CREATE TABLE files(
            id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, parent TEXT NOT NULL, name TEXT NOT NULL,
            size INTEGER NOT NULL, mtime REAL NOT NULL, replication INTEGER NOT NULL,
            block_bytes INTEGER NOT NULL, complete INTEGER NOT NULL, created REAL NOT NULL);
        CREATE UNIQUE INDEX files_complete_path ON files(path) WHERE complete = 1;
        CREATE INDEX files_parent ON files(parent, name) WHERE complete = 1;
        -- AUTOINCREMENT: a block id is never reused, so a stale replica on a node that was
        -- down can never be mistaken for a newer block.
        CREATE TABLE blocks(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            block_index INTEGER NOT NULL, length INTEGER NOT NULL);
        CREATE INDEX blocks_file ON blocks(file_id, block_index);
        CREATE TABLE replicas(
            block_id INTEGER NOT NULL REFERENCES blocks(id) ON DELETE CASCADE, node_id TEXT NOT NULL,
            PRIMARY KEY(block_id, node_id)) WITHOUT ROWID;
        CREATE INDEX replicas_node ON replicas(node_id);
        -- Replicas that no file owns any more, to be deleted on their nodes.
        CREATE TABLE garbage(
            block_id INTEGER NOT NULL, node_id TEXT NOT NULL, since REAL NOT NULL,
            PRIMARY KEY(block_id, node_id)) WITHOUT ROWID;
        CREATE INDEX garbage_node ON garbage(node_id);
        """,
        // Version 2: integrity. A file's SHA-256, a block's CRC32C, replicas found corrupt.
        """
        ALTER TABLE files ADD COLUMN sha256 TEXT;
        ALTER TABLE blocks ADD COLUMN checksum INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE replicas ADD COLUMN corrupt INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX files_pending ON files(created) WHERE complete = 0;
        """,
        // Version 3: a file's CRC32C, combined from its blocks' when it is completed.
        """
        ALTER TABLE files ADD COLUMN crc32c INTEGER;
        """,
        // Version 4: a report is a hint. `suspect` is NULL for a replica no one doubts; for one
        // a client reported, the time its node is next asked to re-verify it. `corrupt` now
        // means its node confirmed it bad, and such a replica is deleted only once its block
        // has its good replicas elsewhere. Earlier versions condemned replicas on a client's
        // word and queued them for deletion at once: each gets a second look instead.
        """
        ALTER TABLE replicas ADD COLUMN suspect REAL;
        CREATE INDEX replicas_suspect ON replicas(node_id, suspect) WHERE suspect IS NOT NULL;
        DELETE FROM garbage WHERE EXISTS(
            SELECT 1 FROM replicas
            WHERE replicas.block_id = garbage.block_id AND replicas.node_id = garbage.node_id AND replicas.corrupt = 1);
        UPDATE replicas SET corrupt = 0, suspect = 0 WHERE corrupt = 1;
        """,
        // Version 5: each block's health and the totals `status` prints, kept up to date by
        // triggers as replicas change, instead of found by scanning every block.
        healthMigration,
        // Version 6: permission bits, owner and group of files and folders (NULL until set),
        // and symbolic links: a complete file row of no blocks whose `target` is not NULL.
        attributesMigration,
        // Version 7: an entity tag and named properties of a file version (the S3 gateway's
        // ETag, content type and user metadata), given when it is completed.
        propertiesMigration,
    ]

    /// The step of version 7, the same in both engines' SQL.
    static let propertiesMigration = """
        ALTER TABLE files ADD COLUMN etag TEXT;
        ALTER TABLE files ADD COLUMN properties TEXT;
        """

    /// The step of version 6, the same in both engines' SQL.
    static let attributesMigration = """
        ALTER TABLE files ADD COLUMN mode INTEGER;
        ALTER TABLE files ADD COLUMN uid BIGINT;
        ALTER TABLE files ADD COLUMN gid BIGINT;
        ALTER TABLE files ADD COLUMN target TEXT;
        ALTER TABLE dirs ADD COLUMN mode INTEGER;
        ALTER TABLE dirs ADD COLUMN uid BIGINT;
        ALTER TABLE dirs ADD COLUMN gid BIGINT;
        """

    static var version: Int { migrations.count }

    /// Brings the database to the current version, each step in its own transaction.
    static func migrate(_ database: SQLiteDatabase) throws(DFSError) {
        let current = try database.query("PRAGMA user_version") { $0.int(0) }.first ?? 0
        guard current <= version else {
            throw DFSError(.invalidArgument, "database \(database.path) has schema version \(current); this dfs knows up to \(version); use a newer dfs")
        }
        for step in current..<version {
            try database.transaction { () throws(DFSError) in
                try database.execute(migrations[step])
                try database.execute("PRAGMA user_version = \(step + 1)")
            }
        }
    }
}
