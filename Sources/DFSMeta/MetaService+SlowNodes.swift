import DFSCore

extension MetaService {
    /// A client saw `nodeID` time out. Only a registered node can be marked, so the marks
    /// never outnumber the nodes; a report about an unknown node is refused.
    func reportSlowNode(_ report: ReportSlowNode) async throws {
        guard try await knownNodes().contains(where: { $0.id == report.nodeID }) else {
            throw DFSError(.notFound, "node '\(report.nodeID.rawValue.prefix(Limits.quotedCharactersMax))' is not registered")
        }
        if slowNodes.report(report.nodeID, now: clock.now()) {
            Log.warn(
                MetaServer.component,
                "node \(report.nodeID) reported slow: \(report.reason.prefix(ReportSlowNode.reasonBytesMax)); no new blocks go to it until it answers again")
        }
    }

    /// A heartbeat from `nodeID` arrived: it may end the node's slow mark.
    func heardFromPossiblySlowNode(_ nodeID: NodeID, now: Double) {
        if slowNodes.heard(from: nodeID, now: now) {
            Log.info(MetaServer.component, "node \(nodeID), reported slow, answers again")
        }
    }
}
