import DFSCore
import Foundation
import Testing

@testable import DFSMeta

extension MetaStore {
    /// Runs SQL the store has no request for (a replication change), to hold the triggers to
    /// changes no request makes yet.
    func executeForTests(_ sql: String) throws(DFSError) {
        try database.execute(sql)
    }
}

/// The health the store keeps as replicas change (the totals `status` prints and the index of
/// blocks needing a look) against what reading every block finds, after every kind of change.
@Suite struct MetaStoreHealthCountsTests {
    let a = NodeID("node-a")
    let b = NodeID("node-b")
    let c = NodeID("node-c")
    /// Never registered: its replicas never count.
    let stranger = NodeID("node-x")
    var registered: [NodeID] { [a, b, c] }
    static let length = 10
    static let checksum: UInt32 = 7

    func makeStore(_ kind: StoreKind) async throws -> MetaStore {
        try await kind.makeStore(registering: registered)
    }

    /// A complete file of `blockCount` blocks, each recorded on `nodes`. Returns its blocks.
    @discardableResult
    func write(_ store: MetaStore, _ path: String, replication: Int, blockCount: Int = 1, on nodes: [NodeID]) async throws -> [BlockID] {
        let fileID = try await store.createFile(path: try DFSPath(path), replication: replication, blockBytes: 4096, overwrite: true, now: 1)
        var blocks: [BlockID] = []
        for index in 0..<blockCount {
            blocks.append(try await store.addBlock(fileID: fileID, blockIndex: index))
        }
        try await store.completeFile(
            fileID: fileID, size: Self.length * blockCount,
            blocks: blocks.enumerated().map {
                CommittedBlock(blockID: $0.element, blockIndex: $0.offset, length: Self.length, checksum: Self.checksum, nodes: nodes)
            }, now: 1)
        return blocks
    }

    /// Holds the kept totals and index to a scan that takes the counted nodes as the live ones.
    func expectAgreement(_ store: MetaStore, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let counted = try await store.countedNodes()
        let scanned = try await store.scannedTotals(live: counted)
        #expect(try await store.healthTotals() == scanned.totals, "\(context)", sourceLocation: sourceLocation)
        let expected = Dictionary(
            scanned.unhealthy.compactMap { block in block.attention.map { (block.blockID, $0) } }, uniquingKeysWith: { first, _ in first })
        #expect(try await store.attentionOfIndexedBlocks() == expected, "\(context)", sourceLocation: sourceLocation)
    }

    @Test(arguments: StoreKind.allCases) func countsFollowAFileFromCreationToRemoval(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await store.setCountedNodes([a, b, c])
        let fileID = try await store.createFile(path: try DFSPath("/f"), replication: 2, blockBytes: 4096, overwrite: false, now: 1)
        let block = try await store.addBlock(fileID: fileID, blockIndex: 0)
        try await store.applyBlockChanges(
            nodeID: a, added: [BlockSummary(blockID: block, length: Self.length, checksum: Self.checksum)], deleted: [], corrupt: [],
            now: 1, orphanGrace: 600)
        #expect(
            try await store.healthTotals()
                == HealthTotals(files: 0, blocks: 0, bytes: 0, underReplicated: 0, missing: 0, corrupt: 0, corruptReplicas: 0, suspectReplicas: 0),
            "a pending file counts for nothing")
        try await expectAgreement(store, "pending")
        try await store.completeFile(
            fileID: fileID, size: Self.length,
            blocks: [CommittedBlock(blockID: block, blockIndex: 0, length: Self.length, checksum: Self.checksum, nodes: [a])], now: 2)
        var totals = try await store.healthTotals()
        #expect(totals.files == 1 && totals.blocks == 1 && totals.bytes == Self.length && totals.underReplicated == 1)
        try await expectAgreement(store, "completed with one replica of two")
        try await store.applyBlockChanges(
            nodeID: b, added: [BlockSummary(blockID: block, length: Self.length, checksum: Self.checksum)], deleted: [], corrupt: [],
            now: 3, orphanGrace: 600)
        totals = try await store.healthTotals()
        #expect(totals.underReplicated == 0)
        #expect(try await store.attentionOfIndexedBlocks().isEmpty, "a whole block is not in the index")
        try await store.markReplicaSuspect(blockID: block, nodeID: b, now: 4)
        #expect(try await store.healthTotals().suspectReplicas == 1)
        #expect(try await store.attentionOfIndexedBlocks() == [block: .unsettled])
        try await store.markReplicaCorrupt(blockID: block, nodeID: b, now: 5, orphanGrace: 600)
        totals = try await store.healthTotals()
        #expect(totals.suspectReplicas == 0 && totals.corruptReplicas == 1 && totals.underReplicated == 1)
        try await expectAgreement(store, "one corrupt")
        try await store.remove(try DFSPath("/f"), recursive: false, now: 6)
        #expect(
            try await store.healthTotals()
                == HealthTotals(files: 0, blocks: 0, bytes: 0, underReplicated: 0, missing: 0, corrupt: 0, corruptReplicas: 0, suspectReplicas: 0))
        #expect(try await store.attentionOfIndexedBlocks().isEmpty)
    }

    /// A node that dies makes every block it holds lose a live replica, in the totals at once;
    /// its return gives them back.
    @Test(arguments: StoreKind.allCases) func aNodeNoLongerCountedMakesItsBlocksUnderReplicatedAndItsReturnRestoresThem(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await store.setCountedNodes([a, b])
        try await write(store, "/two", replication: 2, blockCount: 3, on: [a, b])
        try await write(store, "/one", replication: 1, on: [b])
        #expect(try await store.healthTotals().underReplicated == 0)
        let change = try await store.setCountedNodes([a])
        #expect(change.removed == [b] && change.added.isEmpty)
        var totals = try await store.healthTotals()
        #expect(totals.underReplicated == 3 && totals.missing == 1)
        try await expectAgreement(store, "b dead")
        #expect(try await store.setCountedNodes([a], keepingCounted: true).added.isEmpty)
        try await store.setCountedNodes([a, b])
        totals = try await store.healthTotals()
        #expect(totals.underReplicated == 0 && totals.missing == 0)
        try await store.setCountedNodes([])
        #expect(try await store.healthTotals().missing == 4)
        try await expectAgreement(store, "all dead")
    }

    @Test(arguments: StoreKind.allCases) func aReplicationChangeMovesTheCounts(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await store.setCountedNodes([a, b, c])
        try await write(store, "/f", replication: 2, blockCount: 2, on: [a, b])
        try await store.executeForTests("UPDATE files SET replication = 3 WHERE path = '/f'")
        #expect(try await store.healthTotals().underReplicated == 2)
        try await expectAgreement(store, "raised to 3")
        try await store.executeForTests("UPDATE files SET replication = 1 WHERE path = '/f'")
        #expect(try await store.healthTotals().underReplicated == 0)
        #expect(Set(try await store.attentionOfIndexedBlocks().values) == [.unsettled], "extras to drop")
        try await expectAgreement(store, "lowered to 1")
    }

    /// The repair loop's view: most urgent class first, and within a class a window that moves
    /// on from pass to pass and starts again at the end.
    @Test(arguments: StoreKind.allCases) func blocksNeedingRepairComeMostUrgentFirstAndTheWindowMovesOn(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await store.setCountedNodes([a, b, c])
        let lastCopies = try await (0..<5).asyncMap { try await write(store, "/one\($0)", replication: 2, on: [a])[0] }
        let shortOfOne = try await write(store, "/three", replication: 3, on: [a, b])[0]
        let whole = try await write(store, "/whole", replication: 1, on: [c])[0]
        var cursor: [BlockAttention: BlockID] = [:]
        var passes: [[BlockID]] = []
        for _ in 0..<4 {
            let taken = try await store.blocksNeedingRepair(after: cursor, limit: 2, live: [a, b, c])
            passes.append(taken.blocks.map(\.blockID))
            cursor = taken.cursor
        }
        #expect(passes[0] == Array(lastCopies[0..<2]))
        #expect(passes[1] == Array(lastCopies[2..<4]))
        #expect(passes[2] == [lastCopies[4], shortOfOne], "the class ends; the next one fills the window")
        #expect(passes[3] == Array(lastCopies[0..<2]), "and it starts again")
        #expect(!passes.joined().contains(whole))
        let all = try await store.blocksNeedingRepair(after: [:], limit: Limits.repairBlocksPerPassMax, live: [a, b, c]).blocks
        #expect(all.map(\.blockID) == lastCopies + [shortOfOne])
        #expect(all.allSatisfy { $0.goodLive.count < $0.replication })
    }

    @Test(arguments: StoreKind.allCases) func fsckOfTheRootFindsItsProblemFilesThroughTheIndex(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await store.setCountedNodes([a])
        let short = try await write(store, "/short", replication: 2, blockCount: 2, on: [a])
        try await write(store, "/whole", replication: 1, on: [a])
        let lost = try await write(store, "/lost", replication: 1, on: [b])
        let files = try await store.filesWithProblems(limit: 10)
        #expect(files.count == 2)
        let problems = try await store.problemBlocks(ofFiles: files, live: [a])
        #expect(Set(problems.map(\.blockID)) == Set(short + lost))
    }

    /// Seeded random sequences of every change the store makes, holding the kept totals and
    /// index to a full scan after each. `DFS_TEST_SEED` repeats a failing sequence.
    @Test(arguments: StoreKind.allCases) func keptHealthMatchesAFullScanThroughRandomChanges(kind: StoreKind) async throws {
        let seed = ProcessInfo.processInfo.environment["DFS_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        let store = try await makeStore(kind)
        let nodes = registered + [stranger]
        var blocks: [BlockID] = []
        var pending: [(fileID: Int64, blockID: BlockID)] = []
        var imported = 0
        var seen = Set<String>()
        func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))] }
        func someNodes() -> [NodeID] {
            let chosen = nodes.filter { _ in random.next() % 2 == 0 }
            return chosen.isEmpty ? [nodes[Int(random.next() % UInt64(nodes.count))]] : chosen
        }
        func path() -> DFSPath { try! DFSPath("/d\(random.next() % 2)/f\(random.next() % 6)") }
        func summary(_ blockID: BlockID) -> BlockSummary {
            BlockSummary(blockID: blockID, length: Self.length, checksum: random.next() % 5 == 0 ? Self.checksum + 1 : Self.checksum)
        }
        for step in 0..<400 {
            let operation = random.next() % 16
            let now = Double(10 + step)
            do {
                switch operation {
                case 0, 1:
                    let replication = Int(1 + random.next() % 3)
                    blocks += try await write(store, path().string, replication: replication, blockCount: Int(1 + random.next() % 2), on: someNodes())
                case 2:
                    let created = try await store.createFileWithFirstBlock(path: path(), replication: 2, blockBytes: 4096, overwrite: true, now: now)
                    pending.append(created)
                    blocks.append(created.blockID)
                    try await store.applyBlockChanges(
                        nodeID: pick(nodes)!, added: [summary(created.blockID)], deleted: [], corrupt: [], now: now, orphanGrace: 600)
                case 3:
                    guard let file = pending.popLast() else { continue }
                    if random.next() % 2 == 0 {
                        try await store.completeFile(
                            fileID: file.fileID, size: Self.length,
                            blocks: [CommittedBlock(blockID: file.blockID, blockIndex: 0, length: Self.length, checksum: Self.checksum, nodes: someNodes())],
                            now: now)
                    } else {
                        try await store.abandonFile(fileID: file.fileID, now: now)
                    }
                case 4:
                    try await store.remove(random.next() % 4 == 0 ? try DFSPath("/d\(random.next() % 2)") : path(), recursive: true, now: now)
                case 5:
                    try await store.move(path(), to: path(), now: now)
                case 6, 7:
                    guard let block = pick(blocks) else { continue }
                    try await store.applyBlockChanges(nodeID: pick(nodes)!, added: [summary(block)], deleted: [], corrupt: [], now: now, orphanGrace: 600)
                case 8:
                    guard let block = pick(blocks) else { continue }
                    try await store.applyBlockChanges(nodeID: pick(nodes)!, added: [], deleted: [block], corrupt: [], now: now, orphanGrace: 600)
                case 9:
                    guard let block = pick(blocks) else { continue }
                    try await store.applyBlockChanges(nodeID: pick(nodes)!, added: [], deleted: [], corrupt: [block], now: now, orphanGrace: 600)
                case 10:
                    guard let block = pick(blocks) else { continue }
                    try await store.markReplicaSuspect(blockID: block, nodeID: pick(nodes)!, now: now)
                case 11:
                    guard let block = pick(blocks) else { continue }
                    try await store.applyBlockChanges(
                        nodeID: pick(nodes)!, added: [], deleted: [], corrupt: [], verified: [summary(block)], now: now, orphanGrace: 600)
                case 12:
                    guard let block = pick(blocks) else { continue }
                    if random.next() % 2 == 0 {
                        try await store.removeReplica(blockID: block, nodeID: pick(nodes)!, now: now)
                    } else {
                        let counted = try await store.countedNodes()
                        try await store.deleteCorruptReplicas(of: block, live: counted, placeable: counted, copiesUnderWay: 0, now: now)
                    }
                case 13:
                    // A node dies or comes back (or, in the quiet period, only comes back).
                    try await store.setCountedNodes(Set(someNodes()), keepingCounted: random.next() % 4 == 0)
                case 14:
                    try await store.forgetUnreportedReplicas(nodeID: pick(nodes)!, reported: Set(blocks.filter { _ in random.next() % 2 == 0 }))
                default:
                    imported += 1
                    try await store.importFiles(
                        [MetaStore.ImportedFile(path: try DFSPath("/imported/i\(imported)"), size: Self.length, checksum: Self.checksum, nodes: someNodes())],
                        now: now)
                    if random.next() % 2 == 0 {
                        try await store.executeForTests("UPDATE files SET replication = \(1 + random.next() % 3) WHERE path = '/imported/i\(imported)'")
                    }
                }
            } catch let error as DFSError
                where error.code != .ioError && error.code != .internalError && !error.message.hasPrefix("PostgreSQL:")
            {
                // A change refused (a stale id, a path taken): it must leave the counts as they were.
                // A statement the database failed is no refusal, whatever code PostgreSQL's
                // SQLSTATE maps to (a broken constraint is `alreadyExists` or `invalidArgument`).
            }
            try await expectAgreement(store, "seed \(seed), step \(step), operation \(operation)")
            let totals = try await store.healthTotals()
            seen.formUnion(
                [
                    totals.underReplicated > 0 ? "under-replicated" : nil, totals.missing > 0 ? "missing" : nil,
                    totals.corrupt > 0 ? "corrupt" : nil, (totals.corruptReplicas ?? 0) > 0 ? "corrupt replica" : nil,
                    (totals.suspectReplicas ?? 0) > 0 ? "suspect replica" : nil,
                ].compactMap { $0 })
        }
        #expect(seen.count >= 4, "the sequence (seed \(seed)) went through few states: \(seen.sorted())")
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
