/// The cluster's status as JSON: `dfs status --json` prints it and the meta server's
/// `GET /api/status` returns it, one shape for both (a `nodes` array and `totals`).
public struct StatusJSON: Encodable, Sendable {
    public struct Node: Encodable, Sendable {
        public var id: String
        public var address: String
        public var alive: Bool
        public var capacity: Int
        public var used: Int
        public var blocks: Int
        public var lastHeartbeatAge: Double
        /// Stopped on purpose and not back yet; its blocks are not copied meanwhile.
        public var leaving: Bool
        /// A client reported it hung; it gets no new blocks until it answers again.
        public var slow: Bool
    }
    public var nodes: [Node]
    public var totals: HealthTotals

    public init(_ status: StatusOK) {
        nodes = status.nodes.map {
            Node(
                id: $0.id.rawValue, address: $0.address.description, alive: $0.alive, capacity: $0.capacity,
                used: $0.used, blocks: $0.blocks, lastHeartbeatAge: $0.lastHeartbeatAge, leaving: $0.leaving == true,
                slow: $0.slow == true)
        }
        totals = status.totals
    }
}
