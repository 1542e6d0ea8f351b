import DFSCore

/// The schema in PostgreSQL: the tables, indexes and health-keeping triggers of
/// ``MetaSchema`` (SQLite) in PostgreSQL's SQL, with the same version numbers. A PostgreSQL
/// database starts at the current version in one step; later versions append steps to both
/// lists.
///
/// The differences from SQLite's: 64-bit integers (`BIGINT`) and doubles where SQLite's
/// types are wider than PostgreSQL's of the same name; ids from identity columns, which
/// never go back, as SQLite's AUTOINCREMENT; text compared byte by byte (`COLLATE "C"`),
/// as SQLite compares it, so listings come in the same order; `attention` stored rather than
/// computed on each read; and each trigger's body in a PL/pgSQL function, with its
/// conditions written as integers where SQLite counts booleans as 0 and 1.
enum PostgresMetaSchema {
    /// The steps by the version each brings the database to.
    static let migrations: [(version: Int, sql: String)] = [(5, version5)]

    /// The table that holds the version.
    static let versionTable = "dfs_schema"

    /// Brings the database to ``MetaSchema/version``. Servers starting at once take turns
    /// on an advisory lock that the session holds from before the version table is made
    /// until the migrating transaction has committed. Not a lock of that transaction: a
    /// SERIALIZABLE transaction sees the database as it was at its first statement, so a
    /// server that waited inside one for another's migration would still find no schema,
    /// and make it again. Nor may two servers make the version table at once: `CREATE TABLE
    /// IF NOT EXISTS` run twice together fails in one of them.
    static func migrate(_ database: PostgresMetaDatabase) throws(DFSError) {
        try database.execute("SELECT pg_advisory_lock(\(MetaElection.migrationLockKey))")
        // Ending the session (a connection lost) releases it too.
        defer { try? database.execute("SELECT pg_advisory_unlock(\(MetaElection.migrationLockKey))") }
        try database.execute("CREATE TABLE IF NOT EXISTS \(versionTable)(version INTEGER NOT NULL)")
        try database.transaction { () throws(DFSError) in
            let current = try version(database)
            guard current <= MetaSchema.version else {
                throw DFSError(
                    .invalidArgument,
                    "database \(database.path) has schema version \(current); this dfs knows up to \(MetaSchema.version); use a newer dfs")
            }
            for step in migrations where step.version > current {
                try database.execute(step.sql)
                try database.execute("DELETE FROM \(versionTable); INSERT INTO \(versionTable) VALUES(\(step.version))")
            }
        }
    }

    static func version(_ database: PostgresMetaDatabase) throws(DFSError) -> Int {
        try database.query("SELECT coalesce(max(version), 0) FROM \(versionTable)") { $0.int(0) }.first ?? 0
    }

    /// A trigger whose body is `body` (statements), in a function of the same name.
    private static func trigger(_ name: String, _ event: String, when: String? = nil, _ body: String) -> String {
        """
        CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            \(body)
            RETURN NULL;
        END $body$;
        CREATE TRIGGER \(name) AFTER \(event) FOR EACH ROW \(when.map { "WHEN (\($0)) " } ?? "")EXECUTE FUNCTION \(name)();
        """
    }

    /// A replica row's share of its block's counts, column by column; `row` is NEW or OLD.
    private static func replicaShare(_ row: String) -> [(column: String, term: String)] {
        let counted = "coalesce((SELECT counted FROM nodes WHERE id = \(row).node_id), 0) = 1"
        return [
            ("live_good", "(\(row).corrupt = 0 AND \(counted))::int"),
            ("live_corrupt", "(\(row).corrupt = 1 AND \(counted))::int"),
            ("corrupt_replicas", "(\(row).corrupt = 1)::int"),
            ("suspect_replicas", "(\(row).corrupt = 0 AND \(row).suspect IS NOT NULL)::int"),
        ]
    }

    /// A block row's share of the totals, column by column.
    private static func blockShare(_ row: String) -> [(column: String, term: String)] {
        let counted = "\(row).wanted_replicas IS NOT NULL"
        return [
            ("blocks", "(\(counted))::int"),
            ("under_replicated", "coalesce((\(row).attention IN (0, 1))::int, 0)"),
            ("missing", "coalesce((\(row).attention = 3)::int, 0)"),
            ("corrupt", "coalesce((\(row).attention = 4)::int, 0)"),
            ("corrupt_replicas", "CASE WHEN \(counted) THEN \(row).corrupt_replicas ELSE 0 END"),
            ("suspect_replicas", "CASE WHEN \(counted) THEN \(row).suspect_replicas ELSE 0 END"),
        ]
    }

    private static func apply(_ share: [(column: String, term: String)], _ sign: String) -> String {
        share.map { "\($0.column) = \($0.column) \(sign) \($0.term)" }.joined(separator: ", ")
    }

    /// Old row's share taken away, new row's added; PostgreSQL, as SQLite, evaluates every
    /// expression of one SET against the row as it was before.
    private static func replace(_ share: (String) -> [(column: String, term: String)]) -> String {
        zip(share("OLD"), share("NEW")).map { "\($0.column) = \($0.column) - \($0.term) + \($1.term)" }.joined(separator: ", ")
    }

    static let version5 = """
        CREATE TABLE nodes(
            id TEXT COLLATE "C" PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL,
            capacity BIGINT NOT NULL, used BIGINT NOT NULL, block_count BIGINT NOT NULL,
            last_heartbeat DOUBLE PRECISION NOT NULL, counted INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE dirs(
            path TEXT COLLATE "C" PRIMARY KEY, parent TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL,
            mtime DOUBLE PRECISION NOT NULL);
        CREATE INDEX dirs_parent ON dirs(parent, name);
        CREATE TABLE files(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            path TEXT COLLATE "C" NOT NULL, parent TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL,
            size BIGINT NOT NULL, mtime DOUBLE PRECISION NOT NULL, replication INTEGER NOT NULL,
            block_bytes BIGINT NOT NULL, complete INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL,
            sha256 TEXT, crc32c BIGINT);
        CREATE UNIQUE INDEX files_complete_path ON files(path) WHERE complete = 1;
        CREATE INDEX files_parent ON files(parent, name) WHERE complete = 1;
        CREATE INDEX files_pending ON files(created) WHERE complete = 0;
        CREATE TABLE blocks(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            block_index INTEGER NOT NULL, length BIGINT NOT NULL, checksum BIGINT NOT NULL DEFAULT 0,
            wanted_replicas INTEGER,
            live_good INTEGER NOT NULL DEFAULT 0, live_corrupt INTEGER NOT NULL DEFAULT 0,
            corrupt_replicas INTEGER NOT NULL DEFAULT 0, suspect_replicas INTEGER NOT NULL DEFAULT 0,
            attention INTEGER GENERATED ALWAYS AS (
                CASE
                    WHEN wanted_replicas IS NULL THEN NULL
                    WHEN live_good = 0 THEN CASE WHEN live_corrupt > 0 THEN 4 ELSE 3 END
                    WHEN live_good < wanted_replicas THEN CASE WHEN live_good = 1 THEN 0 ELSE 1 END
                    WHEN live_good > wanted_replicas OR corrupt_replicas > 0 OR suspect_replicas > 0 THEN 2
                END) STORED);
        CREATE INDEX blocks_file ON blocks(file_id, block_index);
        CREATE INDEX blocks_attention ON blocks(attention, id) WHERE attention IS NOT NULL;
        CREATE TABLE replicas(
            block_id BIGINT NOT NULL REFERENCES blocks(id) ON DELETE CASCADE, node_id TEXT COLLATE "C" NOT NULL,
            corrupt INTEGER NOT NULL DEFAULT 0, suspect DOUBLE PRECISION,
            PRIMARY KEY(block_id, node_id));
        CREATE INDEX replicas_node ON replicas(node_id);
        CREATE INDEX replicas_suspect ON replicas(node_id, suspect) WHERE suspect IS NOT NULL;
        CREATE TABLE garbage(
            block_id BIGINT NOT NULL, node_id TEXT COLLATE "C" NOT NULL, since DOUBLE PRECISION NOT NULL,
            PRIMARY KEY(block_id, node_id));
        CREATE INDEX garbage_node ON garbage(node_id);
        CREATE TABLE health_totals(
            id INTEGER PRIMARY KEY CHECK(id = 0),
            files BIGINT NOT NULL, bytes BIGINT NOT NULL, blocks BIGINT NOT NULL,
            under_replicated BIGINT NOT NULL, missing BIGINT NOT NULL, corrupt BIGINT NOT NULL,
            corrupt_replicas BIGINT NOT NULL, suspect_replicas BIGINT NOT NULL);
        INSERT INTO health_totals VALUES(0, 0, 0, 0, 0, 0, 0, 0, 0);

        \(trigger("replicas_health_insert", "INSERT ON replicas",
            "UPDATE blocks SET \(apply(replicaShare("NEW"), "+")) WHERE id = NEW.block_id;"))
        \(trigger("replicas_health_delete", "DELETE ON replicas",
            "UPDATE blocks SET \(apply(replicaShare("OLD"), "-")) WHERE id = OLD.block_id;"))
        \(trigger("replicas_health_update", "UPDATE OF corrupt, suspect ON replicas",
            when: "OLD.corrupt IS DISTINCT FROM NEW.corrupt OR (OLD.suspect IS NULL) <> (NEW.suspect IS NULL)",
            "UPDATE blocks SET \(replace(replicaShare)) WHERE id = NEW.block_id;"))
        \(trigger("nodes_health_counted", "UPDATE OF counted ON nodes", when: "OLD.counted <> NEW.counted",
            """
            UPDATE blocks SET
                live_good = live_good + (NEW.counted - OLD.counted)
                    * (SELECT (corrupt = 0)::int FROM replicas WHERE replicas.block_id = blocks.id AND replicas.node_id = NEW.id),
                live_corrupt = live_corrupt + (NEW.counted - OLD.counted)
                    * (SELECT (corrupt = 1)::int FROM replicas WHERE replicas.block_id = blocks.id AND replicas.node_id = NEW.id)
            WHERE id IN (SELECT block_id FROM replicas WHERE node_id = NEW.id);
            """))
        \(trigger("blocks_health_insert", "INSERT ON blocks",
            """
            IF EXISTS(SELECT 1 FROM files WHERE id = NEW.file_id AND complete = 1) THEN
                UPDATE blocks SET wanted_replicas = (SELECT replication FROM files WHERE id = NEW.file_id) WHERE id = NEW.id;
            END IF;
            """))
        \(trigger("blocks_health_update",
            "UPDATE OF wanted_replicas, live_good, live_corrupt, corrupt_replicas, suspect_replicas ON blocks",
            when: """
                OLD.wanted_replicas IS DISTINCT FROM NEW.wanted_replicas OR OLD.attention IS DISTINCT FROM NEW.attention
                OR OLD.corrupt_replicas <> NEW.corrupt_replicas OR OLD.suspect_replicas <> NEW.suspect_replicas
                """,
            "UPDATE health_totals SET \(replace(blockShare));"))
        \(trigger("blocks_health_delete", "DELETE ON blocks",
            "UPDATE health_totals SET \(apply(blockShare("OLD"), "-"));"))
        \(trigger("files_health_insert", "INSERT ON files", when: "NEW.complete = 1",
            "UPDATE health_totals SET files = files + 1, bytes = bytes + NEW.size;"))
        \(trigger("files_health_update", "UPDATE OF complete, size, replication ON files",
            """
            UPDATE health_totals SET
                files = files - (OLD.complete = 1)::int + (NEW.complete = 1)::int,
                bytes = bytes - CASE WHEN OLD.complete = 1 THEN OLD.size ELSE 0 END
                    + CASE WHEN NEW.complete = 1 THEN NEW.size ELSE 0 END;
            UPDATE blocks SET wanted_replicas = CASE WHEN NEW.complete = 1 THEN NEW.replication END
            WHERE file_id = NEW.id AND (OLD.complete <> NEW.complete OR OLD.replication <> NEW.replication);
            """))
        \(trigger("files_health_delete", "DELETE ON files", when: "OLD.complete = 1",
            "UPDATE health_totals SET files = files - 1, bytes = bytes - OLD.size;"))
        """
}
