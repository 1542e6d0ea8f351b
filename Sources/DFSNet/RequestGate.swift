/// Where one served connection stands, as a pure value: between requests or in one, and
/// whether its server is stopping.
///
/// A stopping server takes no new request and closes a connection only between requests,
/// never under a request it is still answering: an idle connection closes as soon as the
/// server stops, a busy one once its reply has gone. Servers of frames (`FrameServer`) and of
/// HTTP keep one per connection.
public struct RequestGate: Equatable, Sendable {
    /// A request from this connection is being answered.
    public private(set) var busy = false
    /// The server is stopping: finish the request under way, take no other.
    public private(set) var draining = false

    /// A request has arrived. False when the server is stopping: the request is not taken
    /// and the connection ends.
    public mutating func begin() -> Bool {
        if draining { return false }
        busy = true
        return true
    }

    /// The request has been answered. False when the server is stopping: the connection
    /// closes now.
    public mutating func end() -> Bool {
        busy = false
        return !draining
    }

    public init() {}

    /// The server is stopping. True when the connection is between requests and closes now;
    /// a busy one closes at ``end()``.
    public mutating func drain() -> Bool {
        draining = true
        return !busy
    }
}
