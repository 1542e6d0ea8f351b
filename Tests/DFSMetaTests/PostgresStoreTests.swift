import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

@testable import DFSMeta

extension MetaStore {
    /// The one integer a query returns, for tests that look at what no request shows.
    fileprivate func integer(_ sql: String) throws(DFSError) -> Int? {
        try database.query(sql) { $0.int(0) }.first
    }

    fileprivate func executeForTest(_ sql: String) throws(DFSError) {
        try database.execute(sql)
    }
}

/// What only a store in PostgreSQL does: a database that outlives its stores, where the
/// first store to open it makes the schema; and the errors of a database the store cannot use.
@Suite(.enabled(if: PostgresTestServer.shouldRun, "PostgreSQL's initdb and pg_ctl are not installed (make deps installs them)"))
struct PostgresStoreTests {
    /// A second store on the same database (a meta server started again, or a standby) finds
    /// the schema made and the data there, while the first one is still open.
    @Test func schemaIsCreatedOnceAndDataSurvivesReopening() async throws {
        let uri = try await PostgresTestServer.freshDatabase()
        let store = try MetaStore(path: uri)
        #expect(try await store.schemaVersion == MetaSchema.version)
        let fileID = try await store.createFile(path: try DFSPath("/keep"), replication: 2, blockBytes: 4096, overwrite: true, now: 1)
        try await store.completeFile(fileID: fileID, size: 0, blocks: [], now: 1)

        let reopened = try MetaStore(path: uri)
        #expect(try await reopened.schemaVersion == MetaSchema.version)
        #expect(try await reopened.integer("SELECT count(*) FROM \(PostgresMetaSchema.versionTable)") == 1)
        #expect(try await reopened.getFile(path: try DFSPath("/keep")).info.replication == 2)
        #expect(try await reopened.healthTotals().files == 1)
        // Each sees what the other commits.
        try await reopened.makeDirectory(try DFSPath("/made"), now: 2)
        #expect(try await store.list(path: .root, after: nil, limit: 10).entries.map(\.path.string) == ["/keep", "/made"])
    }

    /// The totals are kept as changes to add up; folding them into one row changes no total.
    @Test func foldingTheTotalsChangesKeepsThem() async throws {
        let store = try await StoreKind.postgres.makeStore(registering: [NodeID("n1")], capacityBytes: 1 << 30)
        for index in 0..<20 { try await store.writeOneBlockFile("/f\(index)", length: 10 + index, on: NodeID("n1")) }
        _ = try await store.remove(try DFSPath("/f3"), recursive: false, now: 6)
        let before = try await store.healthTotals()
        #expect(try await store.integer("SELECT count(*) FROM health_deltas") ?? 0 > 20)
        try await store.compactHealthDeltas(threshold: 1000)
        #expect(try await store.integer("SELECT count(*) FROM health_deltas") ?? 0 > 20)
        try await store.compactHealthDeltas(threshold: 0)
        #expect(try await store.integer("SELECT count(*) FROM health_deltas") == 1)
        #expect(try await store.healthTotals() == before)
        #expect(before.files == 19)
        #expect(before.bytes == (10..<30).reduce(0, +) - 13)
        // Changes after the fold add to the folded row.
        try await store.writeOneBlockFile("/g", length: 5, on: NodeID("n1"))
        #expect(try await store.healthTotals().files == 20)
    }

    /// A table filled since its last statistics gets new ones from the store's upkeep, so
    /// that the planner reads a file's replicas through the index rather than scanning them.
    @Test func upkeepAnalyzesTablesThatChangedMuch() async throws {
        let store = try await StoreKind.postgres.makeStore(registering: [NodeID("n1")], capacityBytes: 1 << 30)
        try await store.executeForTest("ALTER TABLE replicas SET (autovacuum_enabled = false)")
        var written = 0
        // Rounds of writes until the table has changed by more than the upkeep's threshold
        // since its last statistics (whoever took those), then one pass of the upkeep.
        for _ in 0..<8 {
            for _ in 0..<150 {
                try await store.writeOneBlockFile("/f\(written)", length: 1, on: NodeID("n1"))
                written += 1
            }
            // A session's counts reach the statistics views when it flushes them: asked to,
            // at its next statement.
            _ = try await store.integer("SELECT 1 FROM (SELECT pg_stat_force_next_flush()) AS flushed")
            let changed = try await store.integer("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relid = 'replicas'::regclass") ?? 0
            let live = try await store.integer("SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = 'replicas'::regclass") ?? 0
            guard changed > 200 + live / 5 else { continue }
            try await store.tidyDatabase()
            #expect(try await store.integer("SELECT reltuples::bigint FROM pg_class WHERE oid = 'replicas'::regclass") == written)
            return
        }
        Issue.record("the replicas table never changed by more than the threshold in \(written) files")
    }

    /// Lookups at once share statements, and each still gets its own answer: its file with
    /// its blocks, a folder, or its own error.
    @Test func lookupsAtOnceGoTogetherAndEachGetsItsAnswer() async throws {
        let store = try await StoreKind.postgres.makeStore(registering: [NodeID("n1")], capacityBytes: 1 << 30)
        for index in 0..<40 { try await store.writeOneBlockFile("/d/f\(index)", length: index + 1, on: NodeID("n1")) }
        let paths = try (0..<40).map { try DFSPath("/d/f\($0)") } + [try DFSPath("/d"), try DFSPath("/missing")]
        let answers = await withTaskGroup(of: (Int, Result<(info: FileInfo, blocks: [BlockLocation]), DFSError>).self) { group in
            for (index, path) in paths.enumerated() {
                group.addTask {
                    do throws(DFSError) { return (index, .success(try await store.lookUpTogether(path))) } catch { return (index, .failure(error)) }
                }
            }
            var answers: [Int: Result<(info: FileInfo, blocks: [BlockLocation]), DFSError>] = [:]
            for await (index, answer) in group { answers[index] = answer }
            return answers
        }
        for index in 0..<40 {
            let found = try #require(try? answers[index]?.get())
            #expect(found.info.path == paths[index])
            #expect(found.info.size == index + 1)
            #expect(found.blocks.map(\.length) == [index + 1])
            #expect(found.blocks.first?.replicas.map(\.nodeID) == [NodeID("n1")])
        }
        #expect((try? answers[40]?.get())?.info.type == .dir)
        guard case .failure(let error) = answers[41] else {
            Issue.record("a missing path was found")
            return
        }
        #expect(error.code == .notFound)
    }

    /// Meta servers started together on a new database (an active one and its standbys):
    /// one makes the schema, the others wait for it and find it made.
    @Test func storesOpenedAtOnceOnANewDatabaseMakeTheSchemaOnce() async throws {
        let uri = try await PostgresTestServer.freshDatabase()
        let stores = try await withThrowingTaskGroup(of: MetaStore.self) { group in
            for _ in 0..<6 { group.addTask { try await BlockingIO.run { try MetaStore(path: uri) } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for store in stores { #expect(try await store.schemaVersion == MetaSchema.version) }
        #expect(try await stores[0].integer("SELECT count(*) FROM \(PostgresMetaSchema.versionTable)") == 1)
        #expect(try await stores[0].integer("SELECT count(*) FROM health_totals") == 1)
    }

    @Test func newerSchemaIsRefused() async throws {
        let uri = try await PostgresTestServer.freshDatabase()
        let store = try MetaStore(path: uri)
        try await store.executeForTests("UPDATE \(PostgresMetaSchema.versionTable) SET version = 99")
        let error = #expect(throws: DFSError.self) { _ = try MetaStore(path: uri) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("schema version 99") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("use a newer dfs") == true)
        // Refused, not changed: the version stays for the newer dfs.
        #expect(try await store.schemaVersion == 99)
    }

    /// The client's default bound of 10,000 rows a query does not apply to the store, whose
    /// queries are as large as the namespace makes them (here, a node's deferred deletions).
    @Test func queriesReturnMoreRowsThanTheClientsDefaultLimit() async throws {
        let store = try await StoreKind.postgres.makeStore()
        try await store.executeForTests("INSERT INTO garbage(block_id, node_id, since) SELECT n, 'node-a', 100 FROM generate_series(1, 12000) AS n")
        #expect(try await store.deferredGarbage(nodeID: NodeID("node-a"), now: 0).count == 12_000)
    }

    /// The replicas of each block come in node order, also from a scan of many blocks, for
    /// which PostgreSQL's plan (a hash join, once ANALYZE has counted the rows) gives them in
    /// the order they were recorded: here, each block's last node first.
    @Test func replicasComeInNodeOrderInAScanOfManyBlocks() async throws {
        let nodes = [NodeID("node-c"), NodeID("node-b"), NodeID("node-a")]
        let store = try await StoreKind.postgres.makeStore(registering: nodes)
        try await store.executeForTests(
            """
            INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created)
            SELECT '/f' || n, '/', 'f' || n, 1, 1, 1, 4096, 0, 1 FROM generate_series(1, 3000) AS n;
            INSERT INTO blocks(file_id, block_index, length) SELECT id, 0, 1 FROM files;
            INSERT INTO replicas(block_id, node_id)
            SELECT blocks.id, node.id FROM blocks, (VALUES (1, 'node-c'), (2, 'node-b'), (3, 'node-a')) AS node(rank, id)
            ORDER BY blocks.id, node.rank;
            UPDATE files SET complete = 1;
            ANALYZE
            """)
        let blocks = try await store.unhealthyBlocks(live: Set(nodes))
        #expect(blocks.count == 3000)
        #expect(blocks.allSatisfy { $0.holders == nodes.reversed() })
    }

    /// SQLite's online backup has no counterpart in PostgreSQL: `meta-backup` is refused
    /// with the tools to use instead, and leaves no file behind.
    @Test func backupIsRefusedWithPostgreSQLsOwnTools() async throws {
        let store = try await StoreKind.postgres.makeStore()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-backup-\(UUID().uuidString.prefix(8)).db").path
        let error = await #expect(throws: DFSError.self) { try await store.backUp(to: path) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("pg_dump") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A port with nothing listening: the store fails at once (a refused connection, not
    /// the connect timeout), names the server without the URI's password, and says that it
    /// could not connect.
    @Test func unreachableServerIsAClearErrorAtOnce() async throws {
        let reserved = try ReservedPort()
        let uri = "postgres://dfs:secret-password@127.0.0.1:\(reserved.port)/dfs"
        let started = ContinuousClock.now
        let error = #expect(throws: DFSError.self) { _ = try MetaStore(path: uri) }
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("cannot connect to PostgreSQL at postgres://dfs:***@127.0.0.1:\(reserved.port)/dfs") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("secret-password") == false)
        reserved.release()
    }
}
