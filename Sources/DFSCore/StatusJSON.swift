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
    /// The meta servers sharing a PostgreSQL database and which is active; absent on SQLite.
    public var metaServers: [MetaServerInfo]?

    public init(_ status: StatusOK) {
        nodes = status.nodes.map {
            Node(
                id: $0.id.rawValue, address: $0.address.description, alive: $0.alive, capacity: $0.capacity,
                used: $0.used, blocks: $0.blocks, lastHeartbeatAge: $0.lastHeartbeatAge, leaving: $0.leaving == true,
                slow: $0.slow == true)
        }
        totals = status.totals
        metaServers = status.metaServers
    }
}

extension StatusOK {
    /// The nodes by state (a node leaving on purpose counts as leaving, not as alive or
    /// dead) and the space of the live ones: what the metrics and the status page show.
    public struct NodeTally: Sendable, Equatable {
        public var alive = 0
        public var dead = 0
        public var leaving = 0
        public var capacity = 0
        public var used = 0
    }

    public var nodeTally: NodeTally {
        var tally = NodeTally()
        for node in nodes {
            if node.leaving == true {
                tally.leaving += 1
            } else if node.alive {
                tally.alive += 1
            } else {
                tally.dead += 1
            }
            if node.alive {
                tally.capacity += node.capacity
                tally.used += node.used
            }
        }
        return tally
    }
}
