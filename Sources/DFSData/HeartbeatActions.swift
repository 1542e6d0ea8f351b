import DFSCore

/// What a data node does with the meta server's answer to a heartbeat. Pure: the reporter
/// (``MetaReporter``) carries it out.
enum HeartbeatActions: Equatable {
    /// The meta server does not know the node: the changes the heartbeat carried go back to
    /// be sent again, and the node registers again (with a full report).
    case registerAgain
    case carryOut(Work)

    struct Work: Equatable {
        var deleteBlocks: [BlockID]
        /// Deletions may leave packs worth compacting.
        var compact: Bool
        /// At most ``HeartbeatActions/copiesPerHeartbeatMax``, in the reply's order.
        var copyBlocks: [CopyBlockCommand]
        /// At most ``HeartbeatOK/verifyBlocksMax``, whatever the reply holds.
        var verifyBlocks: [BlockID]
    }

    /// Repair copies started per heartbeat reply (``Limits/repairCopiesPerHeartbeatMax``).
    static let copiesPerHeartbeatMax = Limits.repairCopiesPerHeartbeatMax

    init(_ reply: HeartbeatOK) {
        if reply.registerAgain {
            self = .registerAgain
            return
        }
        self = .carryOut(
            Work(
                deleteBlocks: reply.deleteBlocks,
                compact: !reply.deleteBlocks.isEmpty,
                copyBlocks: Array(reply.copyBlocks.prefix(Self.copiesPerHeartbeatMax)),
                verifyBlocks: Array((reply.verifyBlocks ?? []).prefix(HeartbeatOK.verifyBlocksMax))))
    }
}
