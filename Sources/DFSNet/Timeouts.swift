/// Time limits on network waits. Each says why it has its value.
public struct Timeouts: Sendable {
    /// A connect(2) that takes longer is to a host that is down or unreachable.
    public var connect: Duration = .seconds(5)
    /// The most one request or one frame of a stream may take; a peer that trickles bytes
    /// slower than this is cut off.
    public var request: Duration = .seconds(60)
    /// A server drops a connection that sends no request for this long, freeing its slot.
    public var idle: Duration = .seconds(300)
    /// A new connection must finish its handshake (TLS, with a secret) and say hello within
    /// this time; until then it holds one of the few slots of connections not yet known
    /// (``Limits/handshakingConnectionsMax``).
    public var handshake: Duration = .seconds(5)
    /// A data node in a block transfer that makes no progress for this long is hung: no
    /// frame taken or sent, no hello answered, no acknowledgement or progress frame. A
    /// stopped process (a stuck disk, a swapping machine, SIGSTOP) still has its kernel
    /// accept connections and buffer a few MiB, so only the lack of progress tells. Healthy
    /// nodes answer hello and move a frame in milliseconds, and send a progress frame every
    /// ``progressInterval`` while they flush: 3 s is many times what they need on a loaded
    /// machine, and short next to the 60 s a whole request may take.
    public var stall: Duration = .seconds(3)
    /// Added to ``stall`` for every further node behind the one waited on, so that in a
    /// pipeline the node nearest a hung one gives up first and names it: the nodes before it
    /// are blocked behind it (their frames wait in full buffers) for up to its own stall
    /// time, and must not give up on it meanwhile (HDFS adds 5 s per node for the same reason).
    public var stallPerNode: Duration = .seconds(1)
    /// How often a pipeline node sends `writeBlockProgress` upstream while it flushes a block
    /// and waits for the nodes after it: well within ``stall``.
    public var progressInterval: Duration = .seconds(1)

    /// How long to wait for progress from a data node that heads a pipeline of `nodes` nodes
    /// (itself and those after it): the nearer a node is to the end, the sooner it is given up.
    public func stall(behind nodes: Int) -> Duration {
        stall + stallPerNode * max(0, min(nodes, 64) - 1)
    }

    public init() {}

    public static let standard = Timeouts()
}
