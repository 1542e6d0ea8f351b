import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// A replica's way from good to suspect and back, or to corrupt, and when a corrupt replica
/// may be deleted: the store on each engine and the pure rule in `BlockHealth`.
@Suite struct ReplicaVerificationStoreTests {
    let a = NodeID("node-a")
    let b = NodeID("node-b")
    let c = NodeID("node-c")
    var all: Set<NodeID> { [a, b, c] }
    static let length = 100
    static let checksum: UInt32 = 0xC0FFEE

    /// A complete file of one block, recorded on `nodes`.
    func writeBlock(_ store: MetaStore, _ path: String, replication: Int, on nodes: [NodeID]) async throws -> BlockID {
        let fileID = try await store.createFile(path: try DFSPath(path), replication: replication, blockBytes: 4096, overwrite: true, now: 1)
        let blockID = try await store.addBlock(fileID: fileID, blockIndex: 0)
        try await store.completeFile(
            fileID: fileID, size: Self.length,
            blocks: [CommittedBlock(blockID: blockID, blockIndex: 0, length: Self.length, checksum: Self.checksum, nodes: nodes)], now: 1)
        return blockID
    }

    func summary(_ blockID: BlockID, checksum: UInt32 = checksum) -> BlockSummary {
        BlockSummary(blockID: blockID, length: Self.length, checksum: checksum)
    }

    func replicas(_ store: MetaStore, _ path: String) async throws -> [NodeID] {
        try await store.getFile(path: try DFSPath(path)).blocks.first?.replicas.map(\.nodeID) ?? []
    }

    func health(_ store: MetaStore, _ blockID: BlockID, live: Set<NodeID>? = nil) async throws -> BlockHealth? {
        try await store.unhealthyBlocks(live: live ?? all).first { $0.blockID == blockID }
    }

    func apply(_ store: MetaStore, _ node: NodeID, added: [BlockSummary] = [], deleted: [BlockID] = [], corrupt: [BlockID] = [], verified: [BlockSummary] = [])
        async throws
    {
        try await store.applyBlockChanges(nodeID: node, added: added, deleted: deleted, corrupt: corrupt, verified: verified, now: 50, orphanGrace: 600)
    }

    @Test(arguments: StoreKind.allCases) func suspectReplicaIsListedLastStillCountsAndIsClearedWhenItsNodeVerifiesIt(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 2, on: [a, b])
        #expect(try await store.markReplicaSuspect(blockID: block, nodeID: a, now: 100))
        #expect(try await !store.markReplicaSuspect(blockID: block, nodeID: a, now: 101), "already suspect")
        #expect(try await !store.markReplicaSuspect(blockID: block, nodeID: c, now: 101), "no replica on c")
        #expect(try await !store.markReplicaSuspect(blockID: BlockID(UInt64.max), nodeID: a, now: 101), "an id no block can have")
        #expect(try await replicas(store, "/f") == [b, a])
        let suspected = try #require(try await health(store, block))
        #expect(suspected.suspect == [a] && suspected.goodLive.count == 2 && suspected.kind == nil)
        #expect(try await store.takeGarbage(nodeID: a, limit: 10).isEmpty)

        // Asked once, then again only after the retry time.
        #expect(try await store.takeVerifications(nodeID: a, limit: 10, now: 100, retryAfter: 30) == [block])
        #expect(try await store.takeVerifications(nodeID: a, limit: 10, now: 110, retryAfter: 30).isEmpty)
        #expect(try await store.takeVerifications(nodeID: b, limit: 10, now: 110, retryAfter: 30).isEmpty)
        #expect(try await store.takeVerifications(nodeID: a, limit: 10, now: 131, retryAfter: 30) == [block])

        try await apply(store, a, verified: [summary(block)])
        #expect(try await health(store, block) == nil, "healthy again")
        #expect(try await replicas(store, "/f") == [a, b])
        #expect(try await store.takeVerifications(nodeID: a, limit: 10, now: 1000, retryAfter: 30).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func suspectReplicaConfirmedBadIsCorruptAndKeptUntilTheBlockIsWholeElsewhere(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 2, on: [a, b])
        try await store.markReplicaSuspect(blockID: block, nodeID: a, now: 100)
        try await apply(store, a, corrupt: [block])
        #expect(try await replicas(store, "/f") == [b], "a corrupt replica is not handed to readers")
        var state = try #require(try await health(store, block))
        #expect(state.corrupt == [a] && state.suspect.isEmpty && state.kind == .underReplicated)
        #expect(try await store.takeVerifications(nodeID: a, limit: 10, now: 1000, retryAfter: 30).isEmpty)
        // Node c could take a copy: the corrupt one waits for it.
        #expect(state.corruptReplicasToDelete(placeable: all, copiesUnderWay: 0).isEmpty)
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100).isEmpty)
        #expect(try await store.takeGarbage(nodeID: a, limit: 10).isEmpty)

        // The repair copy arrives on c, but b is now in doubt: one trusted replica of two (and
        // no copy needed, so no room to make either).
        try await store.markReplicaSuspect(blockID: block, nodeID: b, now: 100)
        try await apply(store, c, added: [summary(block)])
        state = try #require(try await health(store, block))
        #expect(state.goodLive.count == 2 && state.trustedLive == [c])
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100).isEmpty)

        // b checks out: two trusted replicas, and only now the corrupt one goes.
        try await apply(store, b, verified: [summary(block)])
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100) == [a])
        #expect(try await store.takeGarbage(nodeID: a, limit: 10) == [block])
        // The record stays until the node says it deleted the block, and a deletion handed
        // out is asked for again (a heartbeat reply can be lost) until then.
        #expect(try await health(store, block)?.corrupt == [a])
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100) == [a])
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100).isEmpty, "queued once")
        try await apply(store, a, deleted: [block])
        #expect(try await health(store, block) == nil)
    }

    @Test(arguments: StoreKind.allCases) func verifiedReplicaHoldingOtherBytesThanRecordedIsCorrupt(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 2, on: [a, b])
        try await store.markReplicaSuspect(blockID: block, nodeID: a, now: 100)
        try await apply(store, a, verified: [summary(block, checksum: Self.checksum ^ 1)])
        #expect(try await health(store, block)?.corrupt == [a])
        #expect(try await replicas(store, "/f") == [b])
    }

    @Test(arguments: StoreKind.allCases) func corruptLastReplicaIsNeverQueuedForDeletion(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 1, on: [a])
        try await apply(store, a, corrupt: [block])
        let state = try #require(try await health(store, block))
        #expect(state.kind == .corrupt)
        #expect(try await health(store, block, live: [b, c])?.kind == .missing, "no live node holds even a bad copy")
        #expect(state.corruptReplicasToDelete(placeable: all, copiesUnderWay: 0).isEmpty)
        #expect(state.corruptReplicasToDelete(placeable: [a], copiesUnderWay: 0).isEmpty, "even when no other node could take a copy")
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: [a], copiesUnderWay: 0, now: 100).isEmpty)
        #expect(try await store.takeGarbage(nodeID: a, limit: 10).isEmpty)
        // A block report that agrees with the record does not make it good again.
        try await apply(store, a, added: [summary(block)])
        #expect(try await health(store, block)?.kind == .corrupt)
    }

    /// Three nodes, three replicas, one corrupt: the new copy can only go where the corrupt one
    /// is, so it makes room, as long as a trusted replica remains and no copy is under way.
    @Test(arguments: StoreKind.allCases) func corruptReplicaMakesRoomWhenEveryNodeHoldsOne(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 3, on: [a, b, c])
        try await apply(store, a, corrupt: [block])
        let state = try #require(try await health(store, block))
        #expect(state.corruptReplicasToDelete(placeable: all, copiesUnderWay: 1).isEmpty)
        #expect(state.corruptReplicasToDelete(placeable: all.union([NodeID("node-d")]), copiesUnderWay: 0).isEmpty)
        try await store.markReplicaSuspect(blockID: block, nodeID: b, now: 100)
        try await store.markReplicaSuspect(blockID: block, nodeID: c, now: 100)
        #expect(
            try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100).isEmpty,
            "no trusted replica left")
        try await apply(store, c, verified: [summary(block)])
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100) == [a])
    }

    /// A block's replicas come in node order, whatever order they were recorded in: which one
    /// repair copies from or drops follows it, the same on both engines.
    @Test(arguments: StoreKind.allCases) func replicasOfABlockComeInNodeOrder(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 1, on: [c])
        try await apply(store, b, added: [summary(block)])
        try await apply(store, a, added: [summary(block)])
        #expect(try await health(store, block)?.holders == [a, b, c])
    }

    /// A block report whose length or checksum disagree with the record marks the replica
    /// corrupt, and queues nothing for deletion by itself.
    @Test(arguments: StoreKind.allCases) func blockReportThatDisagreesMarksCorruptWithoutDeleting(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [a, b, c])
        let block = try await writeBlock(store, "/f", replication: 2, on: [a, b])
        try await apply(store, c, added: [summary(block, checksum: 1)])
        #expect(try await health(store, block)?.corrupt == [c])
        #expect(try await store.takeGarbage(nodeID: c, limit: 10).isEmpty)
        #expect(try await store.deleteCorruptReplicas(of: block, live: all, placeable: all, copiesUnderWay: 0, now: 100) == [c])
    }
}
