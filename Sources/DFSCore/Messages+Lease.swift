/// Keeps the pending files of uploads under way alive.
///
/// A pending file that nobody renews is abandoned by the meta server a short time after its
/// last renewal (`serve-meta --pending-lease`, 2 minutes by default): an upload whose client
/// died costs its cluster minutes of space, not hours. A client renews every pending file it
/// is writing every quarter of the lease, with at most ``Limits/leaseRenewalsMax`` ids per
/// request.
public struct RenewLeases: Message {
    public static let type = MessageType.renewLeases
    public var fileIDs: [Int64]
    public init(fileIDs: [Int64]) { self.fileIDs = fileIDs }
}

public struct RenewLeasesOK: Message {
    public static let type = MessageType.renewLeasesOK
    /// Ids that name no pending file (completed, abandoned or expired): their uploads cannot
    /// be completed any more.
    public var unknown: [Int64]
    /// The lease: a pending file not renewed for this long is abandoned.
    public var leaseMilliseconds: Int
    public init(unknown: [Int64], leaseMilliseconds: Int) {
        self.unknown = unknown
        self.leaseMilliseconds = leaseMilliseconds
    }
}
