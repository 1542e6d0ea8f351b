import DFSCore

/// Keeps alive the pending files a client is writing: one per client, for every upload in
/// flight. The meta server abandons a pending file a lease after its last renewal (2 minutes
/// by default), so a client that dies costs its cluster minutes of space; this renews every
/// file still being written every quarter of the lease, so a slow upload is never cut short.
///
/// Runs only while there is something to renew. A renewal that fails (the meta server is
/// restarting) is tried again at the next turn: three turns remain before the lease runs
/// out, and a restarted meta server gives every pending file a whole lease before it
/// expires any.
actor LeaseRenewer {
    /// Pending files being written, each with the number of writers that hold it (a file
    /// is added once per upload, so one count; the count keeps `remove` exact anyway).
    private var files: [Int64: Int] = [:]
    /// The lease the meta server last stated; until it does, the default's.
    private var lease: Duration = .seconds(120)
    private var task: Task<Void, Never>?
    /// Numbers each renewing task, so that one that ends knows whether it is still the one.
    private var generation = 0
    private let renew: @Sendable ([Int64]) async throws -> RenewLeasesOK

    /// Renewals the meta server accepted, for tests and logs.
    private(set) var renewals = 0

    init(renew: @escaping @Sendable ([Int64]) async throws -> RenewLeasesOK) {
        self.renew = renew
    }

    /// Starts renewing `fileIDs`; `leaseMilliseconds` is the lease the meta server stated.
    func add(_ fileIDs: [Int64], leaseMilliseconds: Int?) {
        guard !fileIDs.isEmpty else { return }
        if let leaseMilliseconds, leaseMilliseconds > 0 { lease = .milliseconds(leaseMilliseconds) }
        for fileID in fileIDs { files[fileID, default: 0] += 1 }
        if task == nil {
            generation += 1
            let mine = generation
            task = Task { await self.run(generation: mine) }
        }
    }

    /// Stops renewing `fileIDs`: they are complete or abandoned.
    func remove(_ fileIDs: [Int64]) {
        for fileID in fileIDs {
            guard let count = files[fileID] else { continue }
            files[fileID] = count > 1 ? count - 1 : nil
        }
        if files.isEmpty {
            task?.cancel()
            task = nil
        }
    }

    /// Stops renewing everything (the client is closing).
    func stop() {
        files = [:]
        task?.cancel()
        task = nil
    }

    private func run(generation mine: Int) async {
        defer {
            if generation == mine { task = nil }
        }
        while !Task.isCancelled, !files.isEmpty {
            do {
                try await Task.sleep(for: lease / 4)
            } catch {
                return
            }
            // Re-read after the sleep: uploads came and went meanwhile.
            let ids = Array(files.keys).sorted()
            var start = 0
            while start < ids.count, !Task.isCancelled {
                let page = Array(ids[start..<min(start + Limits.leaseRenewalsMax, ids.count)])
                start += page.count
                do {
                    let reply = try await renew(page)
                    renewals += 1
                    if reply.leaseMilliseconds > 0 { lease = .milliseconds(reply.leaseMilliseconds) }
                    // Ids the meta server no longer knows cannot be saved; their uploads
                    // find out when they complete.
                    for fileID in reply.unknown { files[fileID] = nil }
                } catch {
                    Log.debug("client", "lease renewal failed: \(DFSError.wrap(error).message); trying again in \(lease / 4)")
                    break
                }
            }
        }
    }
}
