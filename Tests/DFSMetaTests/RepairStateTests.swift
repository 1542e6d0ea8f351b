import DFSCore
import Testing

@testable import DFSMeta

/// The repair loop's bookkeeping: when a copy counts as done or given up, and the load it
/// puts on its nodes meanwhile.
@Suite struct RepairStateTests {
    let source = NodeID("source")
    let target = NodeID("target")
    let other = NodeID("other")
    let address = Endpoint(host: "127.0.0.1", port: 7000)

    func scheduled(deadline: Double = 100) -> RepairState {
        var state = RepairState()
        state.schedule(RepairState.Copy(blockID: BlockID(1), source: source, target: target, deadline: deadline), targetAddress: address)
        return state
    }

    @Test func aCopyLoadsBothNodesUntilTheTargetHoldsTheBlock() {
        var state = scheduled()
        #expect(state.load(of: source) == 1 && state.load(of: target) == 1)
        state.settle(now: 10) { _ in [source] }
        #expect(state.targets(of: BlockID(1)) == [target])
        state.settle(now: 11) { _ in [source, target] }
        #expect(state.targets(of: BlockID(1)).isEmpty)
        #expect(state.loadByNode.isEmpty)
    }

    @Test func aCopyPastItsDeadlineIsGivenUp() {
        var state = scheduled(deadline: 50)
        state.settle(now: 51) { _ in [source] }
        #expect(state.targets(of: BlockID(1)).isEmpty)
        #expect(state.loadByNode.isEmpty)
    }

    /// A copy whose target or source died is given up at the next pass, not at its deadline
    /// a minute later: the block is copied elsewhere at once.
    @Test func aCopyToOrFromANodeThatIsNotAliveIsGivenUpAtOnce() {
        for dead in [source, target] {
            var state = scheduled()
            state.settle(now: 10, alive: { $0 != dead }) { _ in [source] }
            #expect(state.targets(of: BlockID(1)).isEmpty, "\(dead)")
            #expect(state.loadByNode.isEmpty)
            #expect(state.takeCommands(for: source).isEmpty, "a copy given up is not handed out")
        }
    }

    /// A node that starts again lost the copies its old process was making.
    @Test func aNodeThatStartsAgainForgetsItsCopies() {
        var state = scheduled()
        state.schedule(RepairState.Copy(blockID: BlockID(2), source: other, target: source, deadline: 100), targetAddress: address)
        state.schedule(RepairState.Copy(blockID: BlockID(3), source: other, target: other, deadline: 100), targetAddress: address)
        state.forget(target)
        #expect(state.targets(of: BlockID(1)).isEmpty)
        #expect(state.targets(of: BlockID(2)) == [source])
        #expect(state.load(of: target) == 0)
        #expect(state.load(of: source) == 1)
        #expect(state.takeCommands(for: source).isEmpty)
        #expect(state.takeCommands(for: other).map(\.blockID) == [BlockID(2), BlockID(3)])
    }
}
