import DFSCore
import DFSTesting
import Testing

@testable import DFSMeta

extension MetaStore {
    /// Creates and completes a file of one block of `length` bytes on `node`.
    @discardableResult
    func writeOneBlockFile(_ path: String, length: Int, on node: NodeID) async throws -> BlockID {
        let fileID = try createFile(path: try DFSPath(path), replication: 1, blockBytes: 4096, overwrite: true, now: 5)
        let blockID = try addBlock(fileID: fileID, blockIndex: 0)
        try completeFile(fileID: fileID, size: length, blocks: [CommittedBlock(blockID: blockID, blockIndex: 0, length: length, nodes: [node])], now: 5)
        return blockID
    }
}

/// The two SQL engines a store runs on: every store test runs against both.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// Both, but for a user other than root on a machine without PostgreSQL's programs,
    /// where the PostgreSQL tests are skipped as DFSPostgresTests are (as root their absence
    /// fails the tests, which say to run `make deps`).
    static var allCases: [StoreKind] { PostgresTestServer.shouldRun ? [.sqlite, .postgres] : [.sqlite] }

    var testDescription: String { rawValue }

    /// A new, empty store: SQLite in memory, or a schema of its own on the test process's
    /// PostgreSQL server.
    func makeStore() async throws -> MetaStore {
        switch self {
        case .sqlite: try MetaStore(path: ":memory:")
        case .postgres: try MetaStore(path: try await PostgresTestServer.freshDatabase())
        }
    }

    /// A new store with `nodes` registered, the first at 127.0.0.1:7001, the next at 7002 and
    /// so on, each with `capacityBytes` of room and nothing used.
    func makeStore(registering nodes: [NodeID], capacityBytes: Int = 1000) async throws -> MetaStore {
        let store = try await makeStore()
        for (index, node) in nodes.enumerated() {
            try await store.registerNode(
                node, address: Endpoint(host: "127.0.0.1", port: 7001 + index), capacityBytes: capacityBytes, usedBytes: 0, blockCount: 0, now: 1)
        }
        return store
    }
}
