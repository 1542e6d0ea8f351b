/// Schema version 5: each block's health kept up to date as its replicas change, so that
/// `status`, `fsck /` and the repair loop never scan every block.
///
/// As HDFS's `BlockManager` keeps its under-replicated blocks in priority queues, a block here
/// carries the counts its health follows from, kept by triggers in the same transaction as
/// every change they follow (a replica added, removed, found corrupt or suspect; a file
/// completed, removed or given another replication; a node counted as live or no longer):
///
/// - `wanted_replicas`: its file's replication once the file is complete, NULL before (a
///   pending file's blocks are in no total).
/// - `live_good`, `live_corrupt`: its good and its corrupt replicas on nodes whose replicas
///   count (`nodes.counted`, set by the meta server as nodes die and come back: one
///   set-based UPDATE per change of state, never one per heartbeat).
/// - `corrupt_replicas`, `suspect_replicas`: on any node.
/// - `attention`, computed from those: NULL for a healthy block, else how urgent it is (see
///   ``BlockAttention``). The partial index on it holds only blocks that need a look, so the
///   repair loop takes its next blocks as an index range.
///
/// `health_totals` is one row: what `status` prints, kept by the triggers on `files` and
/// `blocks`. A database of version 4 gets all of it computed once, here, with every node
/// not yet counted (as after any start, until the meta server hears from the nodes).
extension MetaSchema {
    /// A replica row's share of its block's counts, column by column; `row` is NEW or OLD.
    private static func replicaShare(_ row: String) -> [(column: String, term: String)] {
        let counted = "coalesce((SELECT counted FROM nodes WHERE id = \(row).node_id), 0) = 1"
        return [
            ("live_good", "(\(row).corrupt = 0 AND \(counted))"),
            ("live_corrupt", "(\(row).corrupt = 1 AND \(counted))"),
            ("corrupt_replicas", "(\(row).corrupt = 1)"),
            ("suspect_replicas", "(\(row).corrupt = 0 AND \(row).suspect IS NOT NULL)"),
        ]
    }

    /// A block row's share of the totals, column by column. A block of a pending file
    /// (`wanted_replicas` NULL) has none.
    private static func blockShare(_ row: String) -> [(column: String, term: String)] {
        let counted = "\(row).wanted_replicas IS NOT NULL"
        return [
            ("blocks", "(\(counted))"),
            ("under_replicated", "coalesce(\(row).attention IN (0, 1), 0)"),
            ("missing", "coalesce(\(row).attention = 3, 0)"),
            ("corrupt", "coalesce(\(row).attention = 4, 0)"),
            ("corrupt_replicas", "CASE WHEN \(counted) THEN \(row).corrupt_replicas ELSE 0 END"),
            ("suspect_replicas", "CASE WHEN \(counted) THEN \(row).suspect_replicas ELSE 0 END"),
        ]
    }

    /// The SET list adding (`+`) or taking away (`-`) one row's share.
    private static func apply(_ share: [(column: String, term: String)], _ sign: String) -> String {
        share.map { "\($0.column) = \($0.column) \(sign) \($0.term)" }.joined(separator: ", ")
    }

    /// The SET list of an update: the old row's share taken away, the new row's added. SQLite
    /// evaluates every expression of one SET against the row as it was before.
    private static func replace(_ share: (String) -> [(column: String, term: String)]) -> String {
        zip(share("OLD"), share("NEW")).map { "\($0.column) = \($0.column) - \($0.term) + \($1.term)" }.joined(separator: ", ")
    }

    static let healthMigration = """
        ALTER TABLE nodes ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE blocks ADD COLUMN wanted_replicas INTEGER;
        ALTER TABLE blocks ADD COLUMN live_good INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE blocks ADD COLUMN live_corrupt INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE blocks ADD COLUMN corrupt_replicas INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE blocks ADD COLUMN suspect_replicas INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE blocks ADD COLUMN attention INTEGER GENERATED ALWAYS AS (
            CASE
                WHEN wanted_replicas IS NULL THEN NULL
                WHEN live_good = 0 THEN CASE WHEN live_corrupt > 0 THEN 4 ELSE 3 END
                WHEN live_good < wanted_replicas THEN CASE WHEN live_good = 1 THEN 0 ELSE 1 END
                WHEN live_good > wanted_replicas OR corrupt_replicas > 0 OR suspect_replicas > 0 THEN 2
            END) VIRTUAL;
        UPDATE blocks SET
            wanted_replicas = (SELECT replication FROM files WHERE files.id = blocks.file_id AND files.complete = 1),
            corrupt_replicas = (SELECT count(*) FROM replicas WHERE replicas.block_id = blocks.id AND replicas.corrupt = 1),
            suspect_replicas = (
                SELECT count(*) FROM replicas
                WHERE replicas.block_id = blocks.id AND replicas.corrupt = 0 AND replicas.suspect IS NOT NULL);
        CREATE INDEX blocks_attention ON blocks(attention, id) WHERE attention IS NOT NULL;
        CREATE TABLE health_totals(
            id INTEGER PRIMARY KEY CHECK(id = 0),
            files INTEGER NOT NULL, bytes INTEGER NOT NULL, blocks INTEGER NOT NULL,
            under_replicated INTEGER NOT NULL, missing INTEGER NOT NULL, corrupt INTEGER NOT NULL,
            corrupt_replicas INTEGER NOT NULL, suspect_replicas INTEGER NOT NULL);
        INSERT INTO health_totals
        SELECT 0,
            (SELECT count(*) FROM files WHERE complete = 1),
            (SELECT coalesce(sum(size), 0) FROM files WHERE complete = 1),
            count(*),
            coalesce(sum(attention IN (0, 1)), 0),
            coalesce(sum(attention = 3), 0),
            coalesce(sum(attention = 4), 0),
            coalesce(sum(corrupt_replicas), 0),
            coalesce(sum(suspect_replicas), 0)
        FROM blocks WHERE wanted_replicas IS NOT NULL;

        CREATE TRIGGER replicas_health_insert AFTER INSERT ON replicas BEGIN
            UPDATE blocks SET \(apply(replicaShare("NEW"), "+")) WHERE id = NEW.block_id;
        END;
        CREATE TRIGGER replicas_health_delete AFTER DELETE ON replicas BEGIN
            UPDATE blocks SET \(apply(replicaShare("OLD"), "-")) WHERE id = OLD.block_id;
        END;
        CREATE TRIGGER replicas_health_update AFTER UPDATE OF corrupt, suspect ON replicas
        WHEN OLD.corrupt IS NOT NEW.corrupt OR (OLD.suspect IS NULL) != (NEW.suspect IS NULL) BEGIN
            UPDATE blocks SET \(replace(replicaShare)) WHERE id = NEW.block_id;
        END;
        -- A node counted as live, or no longer: every block it holds a replica of, at once.
        CREATE TRIGGER nodes_health_counted AFTER UPDATE OF counted ON nodes WHEN OLD.counted != NEW.counted BEGIN
            UPDATE blocks SET
                live_good = live_good + (NEW.counted - OLD.counted)
                    * (SELECT corrupt = 0 FROM replicas WHERE replicas.block_id = blocks.id AND replicas.node_id = NEW.id),
                live_corrupt = live_corrupt + (NEW.counted - OLD.counted)
                    * (SELECT corrupt = 1 FROM replicas WHERE replicas.block_id = blocks.id AND replicas.node_id = NEW.id)
            WHERE id IN (SELECT block_id FROM replicas WHERE node_id = NEW.id);
        END;
        -- A block of a complete file (one imported whole) is counted from its start.
        CREATE TRIGGER blocks_health_insert AFTER INSERT ON blocks
        WHEN EXISTS(SELECT 1 FROM files WHERE id = NEW.file_id AND complete = 1) BEGIN
            UPDATE blocks SET wanted_replicas = (SELECT replication FROM files WHERE id = NEW.file_id) WHERE id = NEW.id;
        END;
        CREATE TRIGGER blocks_health_update
        AFTER UPDATE OF wanted_replicas, live_good, live_corrupt, corrupt_replicas, suspect_replicas ON blocks
        WHEN OLD.wanted_replicas IS NOT NEW.wanted_replicas OR OLD.attention IS NOT NEW.attention
            OR OLD.corrupt_replicas != NEW.corrupt_replicas OR OLD.suspect_replicas != NEW.suspect_replicas BEGIN
            UPDATE health_totals SET \(replace(blockShare));
        END;
        CREATE TRIGGER blocks_health_delete AFTER DELETE ON blocks BEGIN
            UPDATE health_totals SET \(apply(blockShare("OLD"), "-"));
        END;
        CREATE TRIGGER files_health_insert AFTER INSERT ON files WHEN NEW.complete = 1 BEGIN
            UPDATE health_totals SET files = files + 1, bytes = bytes + NEW.size;
        END;
        CREATE TRIGGER files_health_update AFTER UPDATE OF complete, size, replication ON files BEGIN
            UPDATE health_totals SET
                files = files - (OLD.complete = 1) + (NEW.complete = 1),
                bytes = bytes - CASE WHEN OLD.complete = 1 THEN OLD.size ELSE 0 END
                    + CASE WHEN NEW.complete = 1 THEN NEW.size ELSE 0 END;
            UPDATE blocks SET wanted_replicas = CASE WHEN NEW.complete = 1 THEN NEW.replication END
            WHERE file_id = NEW.id AND (OLD.complete != NEW.complete OR OLD.replication != NEW.replication);
        END;
        CREATE TRIGGER files_health_delete AFTER DELETE ON files WHEN OLD.complete = 1 BEGIN
            UPDATE health_totals SET files = files - 1, bytes = bytes - OLD.size;
        END;
        """
}
