import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// Liveness feeding the kept health: `MetaService` on a store of each engine and a clock the
/// test moves on, so a node dies and comes back without sleeping.
@Suite struct MetaServiceHealthTests {
    let clock = ManualClock()
    let a = NodeID("node-a")
    let b = NodeID("node-b")
    let c = NodeID("node-c")

    func makeService(store: MetaStore) -> MetaService {
        var options = MetaServer.Options(listen: Endpoint(host: "127.0.0.1", port: 0), databasePath: ":memory:")
        options.deadAfter = .seconds(30)
        options.clock = clock.clock
        return MetaService(store: store, options: options)
    }

    func register(_ node: NodeID, port: Int, with service: MetaService) async throws {
        _ = try await service.register(
            RegisterNode(nodeID: node, host: "127.0.0.1", port: port, capacityBytes: 1 << 30, usedBytes: 0, blockCount: 0),
            peer: Endpoint(host: "127.0.0.1", port: 50_000))
    }

    func heartbeat(_ node: NodeID, _ service: MetaService) async throws {
        _ = try await service.heartbeat(Heartbeat(nodeID: node, capacityBytes: 1 << 30, usedBytes: 0, blockCount: 0))
    }

    /// A complete file of `blockCount` blocks of 10 bytes, each on `nodes`.
    func write(_ store: MetaStore, _ path: String, replication: Int, blockCount: Int = 1, on nodes: [NodeID]) async throws {
        let fileID = try await store.createFile(path: try DFSPath(path), replication: replication, blockBytes: 4096, overwrite: true, now: 1)
        var blocks: [CommittedBlock] = []
        for index in 0..<blockCount {
            let blockID = try await store.addBlock(fileID: fileID, blockIndex: index)
            blocks.append(CommittedBlock(blockID: blockID, blockIndex: index, length: 10, nodes: nodes))
        }
        try await store.completeFile(fileID: fileID, size: 10 * blockCount, blocks: blocks, now: 1)
    }

    /// Status's totals are the kept ones; they agree with a scan of the live nodes' replicas.
    func expectStatus(_ service: MetaService, live: Set<NodeID>, underReplicated: Int, missing: Int, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let totals = try await service.status().totals
        #expect(totals.underReplicated == underReplicated && totals.missing == missing, "\(totals)", sourceLocation: sourceLocation)
        #expect(try await service.store.scannedTotals(live: live).totals == totals, sourceLocation: sourceLocation)
    }

    @Test(arguments: StoreKind.allCases) func aNodeThatDiesMakesItsBlocksUnderReplicatedAndItsReturnRestoresThem(kind: StoreKind) async throws {
        let service = makeService(store: try await kind.makeStore())
        try await register(a, port: 7001, with: service)
        try await register(b, port: 7002, with: service)
        try await write(service.store, "/two", replication: 2, blockCount: 3, on: [a, b])
        try await write(service.store, "/only-b", replication: 1, on: [b])
        try await expectStatus(service, live: [a, b], underReplicated: 0, missing: 0)
        // Past the quiet period, b silent for longer than dead-after.
        clock.advance(by: .seconds(31))
        try await heartbeat(a, service)
        try await expectStatus(service, live: [a], underReplicated: 3, missing: 1)
        try await heartbeat(b, service)
        try await expectStatus(service, live: [a, b], underReplicated: 0, missing: 0)
        clock.advance(by: .seconds(31))
        try await expectStatus(service, live: [], underReplicated: 0, missing: 4)
        let report = try await service.fsck(.root)
        #expect(!report.healthy && report.files.map(\.path.string) == ["/only-b", "/two"])
        let folder = try await service.fsck(try DFSPath("/two"))
        #expect(folder.totals.missing == 3 && folder.totals.files == 1 && folder.files.count == 1, "a file's own report reads its blocks")
    }

    /// After a restart no node has spoken: until dead-after has passed, none stops counting,
    /// so the totals do not say every block is missing meanwhile.
    @Test(arguments: StoreKind.allCases) func aRestartKeepsNodesCountedThroughTheQuietPeriod(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let first = makeService(store: store)
        try await register(a, port: 7001, with: first)
        try await write(store, "/f", replication: 1, on: [a])
        try await expectStatus(first, live: [a], underReplicated: 0, missing: 0)
        let restarted = makeService(store: store)
        clock.advance(by: .seconds(29))
        #expect(try await restarted.status().totals.missing == 0)
        clock.advance(by: .seconds(2))
        #expect(try await restarted.status().totals.missing == 1, "a is silent past dead-after")
    }

    /// A node away on a planned stop keeps its replicas counted for its leave grace, as repair
    /// does; past the grace its blocks are under-replicated.
    @Test(arguments: StoreKind.allCases) func aLeavingNodeCountsUntilItsLeaveGraceRunsOut(kind: StoreKind) async throws {
        let service = makeService(store: try await kind.makeStore())
        try await register(a, port: 7001, with: service)
        try await register(b, port: 7002, with: service)
        try await write(service.store, "/two", replication: 2, on: [a, b])
        clock.advance(by: .seconds(31))
        try await heartbeat(a, service)
        try await service.nodeLeaving(NodeLeaving(nodeID: b))
        try await expectStatus(service, live: [a, b], underReplicated: 0, missing: 0)
        clock.advance(by: .seconds(601))
        try await heartbeat(a, service)
        try await expectStatus(service, live: [a], underReplicated: 1, missing: 0)
    }

    /// The repair loop takes its work from the index: a block short of a replica gets a copy.
    @Test(arguments: StoreKind.allCases) func repairSchedulesACopyForABlockFoundThroughTheIndex(kind: StoreKind) async throws {
        let service = makeService(store: try await kind.makeStore())
        for (index, node) in [a, b, c].enumerated() { try await register(node, port: 7001 + index, with: service) }
        try await write(service.store, "/short", replication: 2, on: [a])
        try await write(service.store, "/whole", replication: 1, on: [b])
        clock.advance(by: .seconds(30))
        for node in [a, b, c] { try await heartbeat(node, service) }
        try await service.repair()
        let load = await service.repairLoad()
        #expect(load[a] == 1 && load.values.reduce(0, +) == 2, "\(load)")
    }

    /// A database of schema 4 gets its health built once when it is opened: totals, the index,
    /// every node not yet counted; counting the nodes then gives what a scan finds.
    @Test func schemaFourDatabaseGetsItsHealthBuiltOnce() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-meta-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/v4.db"
        do {
            let database = try SQLiteDatabase(path: path)
            for step in 0..<4 { try database.execute(MetaSchema.migrations[step]) }
            try database.execute("PRAGMA user_version = 4")
            try database.execute(
                """
                INSERT INTO nodes(id, host, port, capacity, used, block_count, last_heartbeat) VALUES('node-a', '127.0.0.1', 7001, 1000, 0, 1, 1);
                INSERT INTO nodes(id, host, port, capacity, used, block_count, last_heartbeat) VALUES('node-b', '127.0.0.1', 7002, 1000, 0, 1, 1);
                INSERT INTO files(id, path, parent, name, size, mtime, replication, block_bytes, complete, created)
                VALUES(1, '/whole', '/', 'whole', 20, 5, 2, 4096, 1, 5),
                    (2, '/doubted', '/', 'doubted', 10, 5, 2, 4096, 1, 5),
                    (3, '/pending', '/', 'pending', 0, 5, 2, 4096, 0, 5);
                INSERT INTO blocks(id, file_id, block_index, length) VALUES(1, 1, 0, 10), (2, 1, 1, 10), (3, 2, 0, 10), (4, 3, 0, 10);
                INSERT INTO replicas(block_id, node_id, corrupt, suspect) VALUES
                    (1, 'node-a', 0, NULL), (1, 'node-b', 0, NULL), (2, 'node-a', 0, NULL), (2, 'node-b', 1, NULL),
                    (3, 'node-a', 0, 9), (3, 'node-b', 0, NULL), (4, 'node-a', 0, NULL);
                """)
        }
        let store = try MetaStore(path: path)
        #expect(try await store.schemaVersion == MetaSchema.version)
        #expect(
            try await store.healthTotals()
                == HealthTotals(files: 2, blocks: 3, bytes: 30, underReplicated: 0, missing: 3, corrupt: 0, corruptReplicas: 1, suspectReplicas: 1))
        #expect(try await store.scannedTotals(live: []).totals == (try await store.healthTotals()))
        try await store.setCountedNodes([a, b])
        #expect(
            try await store.healthTotals()
                == HealthTotals(files: 2, blocks: 3, bytes: 30, underReplicated: 1, missing: 0, corrupt: 0, corruptReplicas: 1, suspectReplicas: 1))
        #expect(try await store.scannedTotals(live: [a, b]).totals == (try await store.healthTotals()))
        #expect(try await store.attentionOfIndexedBlocks() == [BlockID(2): .oneGoodLeft, BlockID(3): .unsettled])
    }
}
