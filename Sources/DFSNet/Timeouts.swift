/// Time limits on network waits. Each says why it has its value.
public struct Timeouts: Sendable {
    /// A connect(2) that takes longer is to a host that is down or unreachable.
    public var connect: Duration = .seconds(5)
    /// The most one request or one frame of a stream may take; a peer that trickles bytes
    /// slower than this is cut off.
    public var request: Duration = .seconds(60)
    /// A server drops a connection that sends no request for this long, freeing its slot.
    public var idle: Duration = .seconds(300)
    /// A new connection must say hello within this time.
    public var handshake: Duration = .seconds(10)

    public init() {}

    public static let standard = Timeouts()
}
