import DFSCore
import Testing

@testable import DFSData

/// What a data node decides to do with a heartbeat's reply, with no meta server.
@Suite struct HeartbeatActionsTests {
    static func copy(_ id: UInt64) -> CopyBlockCommand {
        CopyBlockCommand(blockID: BlockID(id), target: NodeAddress(nodeID: NodeID("target"), address: Endpoint(host: "127.0.0.1", port: 9000)))
    }

    @Test func registersAgainAndIgnoresTheRestWhenForgotten() {
        let reply = HeartbeatOK(registerAgain: true, deleteBlocks: [BlockID(1)], copyBlocks: [Self.copy(2)], verifyBlocks: [BlockID(3)])
        #expect(HeartbeatActions(reply) == .registerAgain)
    }

    @Test func deletesAndCompactsOnlyWhenToldToDelete() {
        let none = HeartbeatActions(HeartbeatOK(registerAgain: false, deleteBlocks: []))
        #expect(none == .carryOut(.init(deleteBlocks: [], compact: false, copyBlocks: [], verifyBlocks: [])))
        let some = HeartbeatActions(HeartbeatOK(registerAgain: false, deleteBlocks: [BlockID(4), BlockID(5)]))
        #expect(some == .carryOut(.init(deleteBlocks: [BlockID(4), BlockID(5)], compact: true, copyBlocks: [], verifyBlocks: [])))
    }

    @Test func startsAtMostTheCopyLimitInOrder() {
        let copies = (1...UInt64(HeartbeatActions.copiesPerHeartbeatMax + 10)).map(Self.copy)
        guard case .carryOut(let work) = HeartbeatActions(HeartbeatOK(registerAgain: false, deleteBlocks: [], copyBlocks: copies)) else {
            Issue.record("a known node was told to register again")
            return
        }
        #expect(work.copyBlocks == Array(copies.prefix(HeartbeatActions.copiesPerHeartbeatMax)))
    }

    @Test func verifiesAtMostTheVerifyLimit() {
        let asked = (1...UInt64(HeartbeatOK.verifyBlocksMax + 3)).map { BlockID($0) }
        guard case .carryOut(let work) = HeartbeatActions(HeartbeatOK(registerAgain: false, deleteBlocks: [], verifyBlocks: asked)) else {
            Issue.record("a known node was told to register again")
            return
        }
        #expect(work.verifyBlocks == Array(asked.prefix(HeartbeatOK.verifyBlocksMax)))
        guard case .carryOut(let none) = HeartbeatActions(HeartbeatOK(registerAgain: false, deleteBlocks: [], verifyBlocks: nil)) else { return }
        #expect(none.verifyBlocks.isEmpty)
    }
}
