import DFSCore
import Foundation

extension MetaService {
    /// The pending files' lease, as replies state it to writers.
    var leaseMilliseconds: Int { options.pendingLease.inMilliseconds }

    /// Restarts the lease of each named pending file; says which ids name none.
    func renewLeases(_ request: RenewLeases) async throws -> RenewLeasesOK {
        guard request.fileIDs.count <= Limits.leaseRenewalsMax else {
            throw DFSError(.tooLarge, "a renewal names at most \(Limits.leaseRenewalsMax) files, not \(request.fileIDs.count)")
        }
        let unknown = try await store.renewLeases(fileIDs: request.fileIDs, now: clock.now())
        return RenewLeasesOK(unknown: unknown, leaseMilliseconds: leaseMilliseconds)
    }

    /// How often a placement waiting for the first heartbeats looks again. Heartbeats are
    /// answered while it waits, and a look reads the registry in memory, so looking often
    /// costs little and places the block within moments of the heartbeat it needed.
    static let firstHeartbeatsPoll: Duration = .milliseconds(20)

    /// Right after this server starts, every node it knows counts as silent until its next
    /// heartbeat. Rather than refuse a placement meanwhile ("no data node is registered and
    /// alive"), wait, for at most ``MetaServer/Options/firstHeartbeatsWait`` after the start,
    /// until enough known nodes have spoken for `wanted` replicas (or every known node has).
    /// Other requests, heartbeats among them, run while this one waits. Returns the live nodes.
    func waitForFirstHeartbeats(wanted: Int, excluding excluded: Set<NodeID>) async throws -> [NodeRecord] {
        let wait = options.firstHeartbeatsWait ?? options.heartbeatInterval * 2 + .seconds(1)
        let deadline = startedAt + wait.inSeconds
        while true {
            let live = try await liveNodes()
            guard clock.now() < deadline else { return live }
            let usable = live.count { !excluded.contains($0.id) }
            let away = recentlyLeft()
            let possible = try await knownNodes().count { !excluded.contains($0.id) && !away.contains($0.id) }
            if usable >= min(wanted, possible) { return live }
            try await Task.sleep(for: Self.firstHeartbeatsPoll)
        }
    }

    /// Abandons pending files whose lease ran out; run periodically. Nothing expires within
    /// a lease of the server's start: renewals sent while it was down could not arrive, and
    /// the writers still at work renew as soon as it answers again.
    func expirePendingFiles() async throws {
        let now = clock.now()
        let lease = options.pendingLease.inSeconds
        guard now - startedAt >= lease else { return }
        let dropped = try await store.expirePendingFiles(createdBefore: now - lease, now: now)
        if dropped > 0 {
            Log.info(MetaServer.component, "abandoned \(dropped) pending files not renewed within \(options.pendingLease)")
        }
    }
}
