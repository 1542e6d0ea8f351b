import DFSCore
import Testing

@testable import DFSClient

/// How a tree download groups the small blocks of its files into `readBlocks` batches.
@Suite struct ReadBatchPlanTests {
    static func node(_ name: String) -> NodeAddress {
        NodeAddress(nodeID: NodeID(name), address: Endpoint(host: "127.0.0.1", port: 7000 + Int(name.utf8.last ?? 0)))
    }

    static func blocks(_ count: Int, length: Int = 4096, on nodes: [String], firstID: UInt64 = 100) -> [BlockLocation] {
        (0..<count).map { index in
            BlockLocation(blockID: BlockID(firstID + UInt64(index)), blockIndex: 0, length: length, replicas: nodes.map(node))
        }
    }

    /// Every block once, on one of its replicas, within the limits.
    static func checkCovers(_ plan: ReadBatchPlan, _ blocks: [BlockLocation], blocksMax: Int, bytesMax: Int) {
        let placed = plan.batches.flatMap(\.blocks) + plan.unplaced
        #expect(placed.sorted() == Array(blocks.indices))
        for batch in plan.batches {
            #expect(!batch.blocks.isEmpty && batch.blocks.count <= blocksMax)
            let bytes = batch.blocks.reduce(0) { $0 + blocks[$1].length }
            #expect(bytes <= bytesMax || batch.blocks.count == 1)
            for position in batch.blocks {
                #expect(blocks[position].replicas.contains(batch.node), "block \(position) sent to a node without it")
            }
        }
    }

    @Test func blocksOfOneNodeAreCutByCountAndBytes() {
        let blocks = Self.blocks(600, on: ["a"])
        let plan = ReadBatchPlan(blocks)
        #expect(plan.batches.map(\.blocks.count) == [256, 256, 88])
        #expect(plan.batches.flatMap(\.blocks) == Array(0..<600), "in order")
        Self.checkCovers(plan, blocks, blocksMax: Limits.blocksPerReadMax, bytesMax: Limits.payloadBytesMax)
        // 256 KiB blocks: 16 fill the 4 MiB payload.
        let big = Self.blocks(40, length: Limits.batchedFileBytesMax, on: ["a"])
        #expect(ReadBatchPlan(big).batches.map(\.blocks.count) == [16, 16, 8])
    }

    @Test func blocksOnEveryNodeSpreadOverThemInRunsOfAnUploadBatch() {
        let blocks = Self.blocks(64 * 9, on: ["a", "b", "c"])
        let plan = ReadBatchPlan(blocks)
        Self.checkCovers(plan, blocks, blocksMax: Limits.blocksPerReadMax, bytesMax: Limits.payloadBytesMax)
        var perNode: [NodeID: Int] = [:]
        for batch in plan.batches { perNode[batch.node.nodeID, default: 0] += batch.blocks.count }
        #expect(perNode == [NodeID("a"): 192, NodeID("b"): 192, NodeID("c"): 192])
        // Runs of 64 neighbours stay together, so a node reads each pack's blocks in one go.
        for batch in plan.batches {
            for (previous, next) in zip(batch.blocks, batch.blocks.dropFirst()) where next != previous + 1 {
                #expect(next % ReadBatchPlan.runMax == 0, "a run was broken at \(previous), \(next)")
            }
        }
        // The first batches in flight go to different nodes.
        #expect(Set(plan.batches.prefix(3).map(\.node.nodeID)).count == 3)
    }

    @Test func blocksOfSeparateNodesGoToTheirOwn() {
        let blocks = Self.blocks(10, on: ["a"]) + Self.blocks(10, on: ["b"], firstID: 500)
        let plan = ReadBatchPlan(blocks)
        #expect(plan.batches.count == 2)
        #expect(plan.batches.map(\.node.nodeID) == [NodeID("a"), NodeID("b")])
        #expect(plan.batches[1].blocks == Array(10..<20))
    }

    @Test func excludedNodesAreNeverAskedAndBlocksWithNothingLeftAreUnplaced() {
        let blocks = Self.blocks(4, on: ["a", "b"])
        let plan = ReadBatchPlan(blocks, excluded: [0: [NodeID("a")], 1: [NodeID("a"), NodeID("b")], 2: [NodeID("b")]])
        Self.checkCovers(plan, blocks, blocksMax: Limits.blocksPerReadMax, bytesMax: Limits.payloadBytesMax)
        #expect(plan.unplaced == [1])
        let nodeOf = Dictionary(uniqueKeysWithValues: plan.batches.flatMap { batch in batch.blocks.map { ($0, batch.node.nodeID) } })
        #expect(nodeOf[0] == NodeID("b"))
        #expect(nodeOf[2] == NodeID("a"))
        #expect(nodeOf[3] != nil)
        #expect(ReadBatchPlan(Self.blocks(3, on: [])).unplaced == [0, 1, 2], "a block with no replica is unplaced")
    }

    @Test func avoidedNodesServeOnlyWhatNoOtherHolds() {
        let shared = Self.blocks(100, on: ["a", "b"])
        let onlyA = Self.blocks(5, on: ["a"], firstID: 900)
        let plan = ReadBatchPlan(shared + onlyA, avoided: [NodeID("a")])
        Self.checkCovers(plan, shared + onlyA, blocksMax: Limits.blocksPerReadMax, bytesMax: Limits.payloadBytesMax)
        for batch in plan.batches where batch.node.nodeID == NodeID("a") {
            #expect(batch.blocks.allSatisfy { $0 >= 100 }, "an avoided node took a block another node holds")
        }
        #expect(plan.unplaced.isEmpty)
    }

    @Test func smallLimitsStillCoverEverything() {
        var generator = SplitMix64(seed: 77)
        let names = ["a", "b", "c", "d"]
        let blocks = (0..<300).map { index -> BlockLocation in
            let count = Int(generator.next() % 3) + 1
            let start = Int(generator.next() % 4)
            let replicas = (0..<count).map { names[(start + $0) % 4] }
            return BlockLocation(
                blockID: BlockID(UInt64(index)), blockIndex: 0, length: Int(generator.next() % 9000) + 1, replicas: replicas.map(Self.node))
        }
        let plan = ReadBatchPlan(blocks, blocksMax: 7, bytesMax: 20_000)
        Self.checkCovers(plan, blocks, blocksMax: 7, bytesMax: 20_000)
        #expect(plan.unplaced.isEmpty)
    }
}
