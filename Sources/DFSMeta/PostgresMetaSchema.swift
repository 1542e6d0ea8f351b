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
/// computed on each read; and triggers that run once per statement over the rows it changed
/// (transition tables), in PL/pgSQL, where SQLite's run once per row: a statement that adds
/// the replicas of a whole batch of files updates each block once, and the totals once.
enum PostgresMetaSchema {
    /// The steps by the version each brings the database to.
    static let migrations: [(version: Int, sql: String)] = [
        (5, version5), (6, MetaSchema.attributesMigration), (7, MetaSchema.propertiesMigration),
    ]

    /// The columns of the health totals.
    static let totalsColumns = ["files", "bytes", "blocks", "under_replicated", "missing", "corrupt", "corrupt_replicas", "suspect_replicas"]

    /// Folds the totals' changes into one row, so that reading them stays cheap.
    static let compactDeltas = """
        WITH folded AS (DELETE FROM health_deltas RETURNING *)
        INSERT INTO health_deltas SELECT \(totalsColumns.map { "coalesce(sum(\($0)), 0)" }.joined(separator: ", ")) FROM folded
        """

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

    /// A trigger whose body is `body` (statements), in a function of the same name: for each
    /// statement, over the rows it changed (`referencing`: the transition tables
    /// `OLD TABLE AS old_rows`, `NEW TABLE AS new_rows`), or, without it, for each row.
    private static func trigger(_ name: String, _ event: String, referencing: String? = nil, when: String? = nil, _ body: String) -> String {
        let level = referencing.map { "REFERENCING \($0) FOR EACH STATEMENT" } ?? "FOR EACH ROW"
        return """
            CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                \(body)
                RETURN NULL;
            END $body$;
            CREATE TRIGGER \(name) AFTER \(event) \(level) \(when.map { "WHEN (\($0)) " } ?? "")EXECUTE FUNCTION \(name)();
            """
    }

    /// A replica row's share of its block's counts, column by column, for a row `row` of
    /// `replicas` joined to its node as `node` (NULL when the node is unknown).
    private static func replicaShare(_ row: String) -> [(column: String, term: String)] {
        let counted = "coalesce(node.counted, 0) = 1"
        return [
            ("live_good", "(\(row).corrupt = 0 AND \(counted))::int"),
            ("live_corrupt", "(\(row).corrupt = 1 AND \(counted))::int"),
            ("corrupt_replicas", "(\(row).corrupt = 1)::int"),
            ("suspect_replicas", "(\(row).corrupt = 0 AND \(row).suspect IS NOT NULL)::int"),
        ]
    }

    /// The blocks' counts changed by the replica rows a statement added (`sign` +) or
    /// removed (-), in one UPDATE of each block touched: `rows` is a transition table.
    private static func applyReplicas(_ rows: String, _ sign: String) -> String {
        let share = replicaShare("changed")
        return """
            UPDATE blocks SET \(share.map { "\($0.column) = blocks.\($0.column) \(sign) delta.\($0.column)" }.joined(separator: ", "))
            FROM (
                SELECT changed.block_id, \(share.map { "sum(\($0.term)) AS \($0.column)" }.joined(separator: ", "))
                FROM \(rows) AS changed LEFT JOIN nodes AS node ON node.id = changed.node_id
                GROUP BY changed.block_id) AS delta
            WHERE blocks.id = delta.block_id;
            """
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

    /// The totals changed by the block rows in transition tables: `added` counted in,
    /// `removed` counted out (either may be nil).
    private static func applyBlocks(added: String?, removed: String?) -> String {
        let share = blockShare("block")
        func sums(_ table: String?) -> String {
            guard let table else { return "SELECT " + share.map { "0 AS \($0.column)" }.joined(separator: ", ") }
            return "SELECT " + share.map { "coalesce(sum(\($0.term)), 0) AS \($0.column)" }.joined(separator: ", ") + " FROM \(table) AS block"
        }
        return """
            INSERT INTO health_deltas(\(share.map(\.column).joined(separator: ", ")))
            SELECT \(share.map { "added.\($0.column) - removed.\($0.column)" }.joined(separator: ", "))
            FROM (\(sums(added))) AS added, (\(sums(removed))) AS removed
            WHERE \(share.map { "added.\($0.column) <> removed.\($0.column)" }.joined(separator: " OR "));
            """
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
        -- The totals as changes to add up: a statement appends its change, where updating one
        -- row would leave a version of it behind per statement for every later one to step
        -- over until the transaction ends. The server folds them into one row now and then
        -- (`compactHealthDeltas`); `health_totals` reads their sum, as SQLite's row.
        CREATE TABLE health_deltas(
            files BIGINT NOT NULL DEFAULT 0, bytes BIGINT NOT NULL DEFAULT 0, blocks BIGINT NOT NULL DEFAULT 0,
            under_replicated BIGINT NOT NULL DEFAULT 0, missing BIGINT NOT NULL DEFAULT 0, corrupt BIGINT NOT NULL DEFAULT 0,
            corrupt_replicas BIGINT NOT NULL DEFAULT 0, suspect_replicas BIGINT NOT NULL DEFAULT 0);
        CREATE VIEW health_totals AS SELECT 0 AS id,
            \(Self.totalsColumns.map { "coalesce(sum(\($0)), 0)::bigint AS \($0)" }.joined(separator: ", "))
            FROM health_deltas;

        \(trigger("replicas_health_insert", "INSERT ON replicas", referencing: "NEW TABLE AS new_rows", applyReplicas("new_rows", "+")))
        \(trigger("replicas_health_delete", "DELETE ON replicas", referencing: "OLD TABLE AS old_rows", applyReplicas("old_rows", "-")))
        \(trigger("replicas_health_update", "UPDATE ON replicas", referencing: "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            applyReplicas("old_rows", "-") + "\n" + applyReplicas("new_rows", "+")))
        -- A node counted as live, or no longer: every block it holds a replica of, at once.
        \(trigger("nodes_health_counted", "UPDATE OF counted ON nodes", when: "OLD.counted <> NEW.counted",
            """
            UPDATE blocks SET
                live_good = live_good + (NEW.counted - OLD.counted)
                    * (SELECT (corrupt = 0)::int FROM replicas WHERE replicas.block_id = blocks.id AND replicas.node_id = NEW.id),
                live_corrupt = live_corrupt + (NEW.counted - OLD.counted)
                    * (SELECT (corrupt = 1)::int FROM replicas WHERE replicas.block_id = blocks.id AND replicas.node_id = NEW.id)
            WHERE id IN (SELECT block_id FROM replicas WHERE node_id = NEW.id);
            """))
        -- A block of a complete file (one imported whole) is counted from its start.
        \(trigger("blocks_health_insert", "INSERT ON blocks", referencing: "NEW TABLE AS new_rows",
            """
            UPDATE blocks SET wanted_replicas = files.replication
            FROM new_rows JOIN files ON files.id = new_rows.file_id AND files.complete = 1
            WHERE blocks.id = new_rows.id;
            """))
        \(trigger("blocks_health_update", "UPDATE ON blocks", referencing: "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            applyBlocks(added: "new_rows", removed: "old_rows")))
        \(trigger("blocks_health_delete", "DELETE ON blocks", referencing: "OLD TABLE AS old_rows",
            applyBlocks(added: nil, removed: "old_rows")))
        \(trigger("files_health_insert", "INSERT ON files", referencing: "NEW TABLE AS new_rows",
            """
            INSERT INTO health_deltas(files, bytes)
            SELECT count(*), coalesce(sum(size), 0) FROM new_rows WHERE complete = 1 HAVING count(*) > 0;
            """))
        \(trigger("files_health_update", "UPDATE ON files", referencing: "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            """
            INSERT INTO health_deltas(files, bytes)
            SELECT delta.files, delta.bytes FROM (
                SELECT coalesce(sum((new_rows.complete = 1)::int - (old_rows.complete = 1)::int), 0) AS files,
                    coalesce(sum(CASE WHEN new_rows.complete = 1 THEN new_rows.size ELSE 0 END
                        - CASE WHEN old_rows.complete = 1 THEN old_rows.size ELSE 0 END), 0) AS bytes
                FROM old_rows JOIN new_rows ON new_rows.id = old_rows.id) AS delta
            WHERE delta.files <> 0 OR delta.bytes <> 0;
            UPDATE blocks SET wanted_replicas = CASE WHEN new_rows.complete = 1 THEN new_rows.replication END
            FROM old_rows JOIN new_rows ON new_rows.id = old_rows.id
            WHERE blocks.file_id = new_rows.id
                AND (old_rows.complete <> new_rows.complete OR old_rows.replication <> new_rows.replication);
            """))
        \(trigger("files_health_delete", "DELETE ON files", referencing: "OLD TABLE AS old_rows",
            """
            INSERT INTO health_deltas(files, bytes)
            SELECT -count(*), -coalesce(sum(size), 0) FROM old_rows WHERE complete = 1 HAVING count(*) > 0;
            """))
        """
}
