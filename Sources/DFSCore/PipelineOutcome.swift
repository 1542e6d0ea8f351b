/// What a write through a pipeline of data nodes came to, from some point of the pipeline on:
/// which nodes stored the data, which failed, and which of those stopped answering. It is
/// what a `writeBlockOK` or `writeBlocksOK` carries upstream. Pure: every rule has a unit
/// test (`PipelineOutcomeTests`).
///
/// The same rules serve both ends. A data node acknowledges its own copy followed by what
/// the nodes after it came to (``stored(on:then:)``), naming the next node failed when it
/// could not be reached, stopped taking frames, stopped answering or answered with another
/// checksum (``lost(_:_:)``). The client reads the first node's acknowledgement against the
/// targets it asked for (``stored(inOrderOf:)``, ``isComplete(for:)``,
/// ``excludedNextTime(from:)``), and treats a first node it could not use as the nodes do a
/// next node they lost: the client is the head of the pipeline, storing nothing itself.
public struct PipelineOutcome: Hashable, Sendable {
    /// Nodes that stored the data, in pipeline order.
    public var stored: [NodeID]
    /// Nodes that failed: the data did not reach the ones after them through this pipeline.
    public var failed: [NodeID]
    /// Those of `failed` that stopped answering (no progress within their stall time), as
    /// opposed to refusing or dropping the connection: hung nodes, which the client avoids
    /// and reports, where a node that is down is left to the meta server's liveness.
    public var stalled: [NodeID]

    /// An outcome with the given lists; with none, the outcome after the last node of a
    /// pipeline, where no node follows.
    public init(stored: [NodeID] = [], failed: [NodeID] = [], stalled: [NodeID] = []) {
        self.stored = stored
        self.failed = failed
        self.stalled = stalled
    }

    /// What a node's acknowledgement of one block says.
    public init(_ reply: WriteBlockOK) {
        self.init(stored: reply.stored, failed: reply.failed, stalled: reply.stalled ?? [])
    }

    /// What a node's acknowledgement of a batch says.
    public init(_ reply: WriteBlocksOK) {
        self.init(stored: reply.stored, failed: reply.failed, stalled: reply.stalled ?? [])
    }

    /// `node`, the next of the pipeline, failed with `error`: it is failed, and stalled when
    /// the error says it stopped answering. Nothing after it was reached through it.
    public static func lost(_ node: NodeID, _ error: any Error) -> PipelineOutcome {
        lost(node, stalled: isStall(error))
    }

    /// `node`, the next of the pipeline, failed: answered with another checksum (`stalled`
    /// false), or stopped answering.
    public static func lost(_ node: NodeID, stalled: Bool) -> PipelineOutcome {
        PipelineOutcome(failed: [node], stalled: stalled ? [node] : [])
    }

    /// A failure that means the node stopped answering (a timeout), not that it refused,
    /// dropped the connection, is down or is full.
    public static func isStall(_ error: any Error) -> Bool {
        DFSError.wrap(error).code == .timeout
    }

    /// What `node` acknowledges upstream once it stored the data itself: itself first, then
    /// the nodes after it that stored it, and the nodes after it that failed.
    public static func stored(on node: NodeID, then downstream: PipelineOutcome) -> PipelineOutcome {
        PipelineOutcome(stored: [node] + downstream.stored, failed: downstream.failed, stalled: downstream.stalled)
    }

    /// `stalled` as the wire carries it: absent when empty.
    public var stalledIfAny: [NodeID]? {
        stalled.isEmpty ? nil : stalled
    }

    /// The `targets` that stored the data, in the targets' order.
    public func stored(inOrderOf targets: [NodeID]) -> [NodeID] {
        targets.filter { stored.contains($0) }
    }

    /// True when every one of `targets` stored the data.
    public func isComplete(for targets: [NodeID]) -> Bool {
        stored(inOrderOf: targets).count == targets.count
    }

    /// The nodes of `targets` the next attempt leaves out: only those that failed, since the
    /// ones after a failed node in the pipeline never got the data, through no fault of their
    /// own. When no node is named failed, every target that did not store the data.
    public func excludedNextTime(from targets: [NodeID]) -> [NodeID] {
        failed.isEmpty ? targets.filter { !stored.contains($0) } : failed
    }
}
