import DFSCore
import Testing

@testable import DFSData

/// The checks a write request passes before a byte is stored, with no node and no socket.
@Suite struct WriteGuardsTests {
    static func node(_ index: Int) -> NodeAddress {
        NodeAddress(nodeID: NodeID("node-\(index)"), address: Endpoint(host: "127.0.0.1", port: 9000 + index))
    }

    static func block(_ id: UInt64, length: Int) -> BatchBlock {
        BatchBlock(blockID: BlockID(id), length: length, checksums: [])
    }

    static func code(_ check: () throws -> Void) -> DFSError.Code? {
        do {
            try check()
            return nil
        } catch {
            return DFSError.wrap(error).code
        }
    }

    @Test func acceptsBlockLengthsFromOneByteToTheLimit() {
        #expect(Self.code { try WriteGuards.checkBlockLength(1) } == nil)
        #expect(Self.code { try WriteGuards.checkBlockLength(Limits.blockBytesMax) } == nil)
        #expect(Self.code { try WriteGuards.checkBlockLength(0) } == .invalidArgument)
        #expect(Self.code { try WriteGuards.checkBlockLength(-1) } == .invalidArgument)
        #expect(Self.code { try WriteGuards.checkBlockLength(Limits.blockBytesMax + 1) } == .invalidArgument)
    }

    @Test func refusesAPipelineAsLongAsTheReplicationLimit() {
        let longest = (1..<Limits.replicationMax).map(Self.node)
        #expect(Self.code { try WriteGuards.checkPipeline([]) } == nil)
        #expect(Self.code { try WriteGuards.checkPipeline(longest) } == nil)
        #expect(Self.code { try WriteGuards.checkPipeline(longest + [Self.node(99)]) } == .invalidArgument)
    }

    @Test func acceptsABatchWhoseBlocksFillItsPayload() throws {
        let request = WriteBlocks(blocks: [Self.block(1, length: 3), Self.block(2, length: 5)], pipeline: [Self.node(1)])
        #expect(try WriteGuards.checkBatch(request, payloadBytes: 8) == 8)
    }

    @Test func refusesEmptyOverfullShortLongAndRepeatingBatches() {
        func code(_ blocks: [BatchBlock], payload: Int) -> DFSError.Code? {
            Self.code { _ = try WriteGuards.checkBatch(WriteBlocks(blocks: blocks), payloadBytes: payload) }
        }
        #expect(code([], payload: 0) == .invalidArgument, "no blocks")
        let most = (1...UInt64(Limits.filesPerBatchMax)).map { Self.block($0, length: 1) }
        #expect(code(most, payload: most.count) == nil)
        #expect(code(most + [Self.block(999, length: 1)], payload: most.count + 1) == .invalidArgument, "one block too many")
        #expect(code([Self.block(1, length: 0)], payload: 0) == .invalidArgument, "an empty block")
        #expect(code([Self.block(1, length: 4)], payload: 3) == .invalidArgument, "a block past the payload")
        #expect(code([Self.block(1, length: 2)], payload: 3) == .invalidArgument, "bytes left over")
        #expect(code([Self.block(1, length: 1), Self.block(1, length: 1)], payload: 2) == .invalidArgument, "a block twice")
    }

    @Test func checksABatchCountBeforeItsPipeline() {
        let pipeline = (0..<Limits.replicationMax).map(Self.node)
        do {
            _ = try WriteGuards.checkBatch(WriteBlocks(blocks: [], pipeline: pipeline), payloadBytes: 0)
            Issue.record("an empty batch was accepted")
        } catch {
            #expect(DFSError.wrap(error).message.contains("a batch holds"))
        }
    }

    @Test func refusesOnlyWhatDoesNotFitAboveTheReserve() throws {
        let nodeID = NodeID("full")
        #expect(WriteGuards.roomRefusal(.block(BlockID(7), bytes: 100), availableBytes: 100, reserveBytes: 10, nodeID: nodeID) == nil)
        let block = try #require(
            WriteGuards.roomRefusal(.block(BlockID(7), bytes: 101), availableBytes: 100, reserveBytes: 10, nodeID: nodeID))
        #expect(block.error.code == .unavailable)
        #expect(block.error.message.contains("data node full is full"))
        #expect(block.error.message.contains("block \(BlockID(7)) needs"))
        #expect(block.log.hasPrefix("refused block \(BlockID(7)) of 101 bytes"))
        let batch = try #require(
            WriteGuards.roomRefusal(.batch(blockCount: 3, bytes: 1), availableBytes: 0, reserveBytes: 10, nodeID: nodeID))
        #expect(batch.error.code == .unavailable)
        #expect(batch.error.message.contains("the batch needs"))
        #expect(batch.log.hasPrefix("refused a batch of 3 blocks"))
    }
}
