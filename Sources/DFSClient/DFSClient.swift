import DFSCore
import DFSNet
import Foundation

/// Talks to a cluster: the meta server for names and placement, data nodes for bytes.
///
/// Used by the command line and by tests. Connections are pooled and reused across calls.
///
/// Failures that may pass by themselves (the meta server restarting, a server too busy, a
/// reply that did not come in time) are retried, each request, file or batch on its own,
/// for up to `retryFor` (see ``RetryPolicy``); `onRetry` hears of every wait. Pending files
/// being written have their lease renewed by one ``LeaseRenewer`` per client.
public final class DFSClient: Sendable {
    /// The cluster's meta servers, and the one requests go to now.
    public let metaServers: MetaServers
    /// The meta server requests go to now.
    public var meta: Endpoint { metaServers.current }
    let pool: ConnectionPool
    let timeouts: Timeouts
    /// Told how many bytes each transfer step moved (uploaded or downloaded), for progress.
    public let progress: (@Sendable (Int) -> Void)?
    /// Data nodes seen to time out, avoided by every later transfer; the hedging delay.
    let avoidance: NodeAvoidance
    let retrier: Retrier
    let leases: LeaseRenewer
    /// Concurrent ``stat(_:)-(DFSPath)`` calls share `getFiles` requests.
    let stats: StatCoalescer

    /// - Parameters:
    ///   - retryFor: how long to keep retrying a request, file or batch that fails in a way
    ///     that may pass (connection refused or reset, a timeout, a busy server, data nodes
    ///     not heard from yet by a meta server that just started); zero tries once.
    ///   - onRetry: told each time the client waits before trying again (a command line
    ///     shows a notice, once per outage).
    public convenience init(
        meta: Endpoint, timeouts: Timeouts = .standard, secret: ClusterSecret? = nil, progress: (@Sendable (Int) -> Void)? = nil,
        retryFor: Duration = RetryPolicy.standardRetryFor, onRetry: (@Sendable (RetryNotice) -> Void)? = nil
    ) {
        self.init(metaServers: [meta], timeouts: timeouts, secret: secret, progress: progress, retryFor: retryFor, onRetry: onRetry)
    }

    /// A client of the cluster whose meta servers are `metaServers` (an active one and its
    /// standbys, in any order): requests go to the first until it fails or names another.
    public init(
        metaServers: [Endpoint], timeouts: Timeouts = .standard, secret: ClusterSecret? = nil, progress: (@Sendable (Int) -> Void)? = nil,
        retryFor: Duration = RetryPolicy.standardRetryFor, onRetry: (@Sendable (RetryNotice) -> Void)? = nil
    ) {
        let metas = MetaServers(metaServers)
        self.metaServers = metas
        self.timeouts = timeouts
        let pool = ConnectionPool(role: .client, timeouts: timeouts, secret: secret)
        self.pool = pool
        self.progress = progress
        self.avoidance = NodeAvoidance(stall: timeouts.stall)
        let retrier = Retrier(policy: RetryPolicy(retryFor: retryFor), notice: onRetry)
        self.retrier = retrier
        // One try per turn: the renewer's next turn is its retry.
        self.leases = LeaseRenewer { fileIDs in
            try await pool.request(RenewLeases(fileIDs: fileIDs), to: metas, expecting: RenewLeasesOK.self)
        }
        let resend = retryFor == .zero
        self.stats = StatCoalescer(
            sendOne: { path in
                try await retrier.run(MessageType.getFile.rawValue) { _ in
                    try await pool.request(GetFile(path: path), to: metas, expecting: GetFileOK.self, resendOnStale: resend)
                }
            },
            sendMany: { paths in
                try await Self.getFiles(paths, retrier: retrier) { batch in
                    try await pool.request(GetFiles(paths: batch), to: metas, expecting: GetFilesOK.self, resendOnStale: resend)
                }
            })
    }

    /// How long this client retries what fails in a way that may pass.
    public var retryFor: Duration { retrier.policy.retryFor }

    /// Lease renewals the meta server accepted so far (for tests).
    public var leaseRenewals: Int {
        get async { await leases.renewals }
    }

    /// Closes pooled connections and stops renewing leases. The client can still be used
    /// afterwards.
    public func close() async {
        await leases.stop()
        await pool.closeAll()
    }

    /// Sends a request to the meta server, retried as ``RetryPolicy`` says.
    ///
    /// Retrying is safe for every request the client sends: reads change nothing; a
    /// `createFile`, `createFiles` or `allocateBlock` whose reply was lost leaves a pending
    /// file or block nobody uses, which its lease or `completeFile` drops; `abandonFile`
    /// and `makeDirectory` may be repeated. The requests whose second try can see the first
    /// one's effect (`completeFile`, `completeFiles`, `remove`, `move`) check for it (see
    /// `DFSClient+Idempotence.swift`). A `reportBadReplica` or `reportSlowNode` is a hint and is
    /// sent once: a transfer does not wait for a meta server that is away to hear it.
    func metaRequest<Request: Message, Reply: Message>(_ request: Request, expecting: Reply.Type) async throws -> Reply {
        if Request.type == .reportBadReplica || Request.type == .reportSlowNode {
            return try await pool.request(request, to: metaServers, expecting: Reply.self)
        }
        return try await retrier.run(Request.type.rawValue) { _ in
            try await self.send(request, expecting: Reply.self)
        }
    }

    /// One try of a request to the meta server, inside a retry. When the client retries,
    /// the pool does not send a request again by itself after a broken connection: the
    /// retry does, and knows that the first try may have taken effect.
    func send<Request: Message, Reply: Message>(_ request: Request, expecting: Reply.Type) async throws -> Reply {
        try await pool.request(request, to: metaServers, expecting: Reply.self, resendOnStale: retrier.policy.retryFor == .zero)
    }

    /// A file's or folder's metadata, with block locations for a file. Calls made at the same
    /// time on one client share requests (see ``StatCoalescer``).
    public func stat(_ path: DFSPath) async throws -> GetFileOK {
        try await stats.stat(path)
    }

    /// Many files' and folders' metadata, in order: one request per 256 paths (fewer when a
    /// reply fills its header) instead of one per path. A path that names nothing gets its
    /// error in its place; a failure to reach the cluster is thrown.
    public func stat(_ paths: [DFSPath]) async throws -> [Result<GetFileOK, DFSError>] {
        try await Self.getFiles(paths, retrier: retrier) { batch in try await self.send(GetFiles(paths: batch), expecting: GetFilesOK.self) }
    }

    /// `getFiles` requests for `paths`, each retried on its own, until every path is answered.
    static func getFiles(
        _ paths: [DFSPath], retrier: Retrier, send: @Sendable ([DFSPath]) async throws -> GetFilesOK
    ) async throws -> [Result<GetFileOK, DFSError>] {
        var results: [Result<GetFileOK, DFSError>] = []
        results.reserveCapacity(paths.count)
        while results.count < paths.count {
            let batch = Array(paths[results.count..<min(paths.count, results.count + Limits.pathsPerGetFilesMax)])
            let reply = try await retrier.run(MessageType.getFiles.rawValue) { _ in try await send(batch) }
            guard !reply.files.isEmpty, reply.files.count <= batch.count else {
                throw DFSError(.protocolError, "the meta server answered \(reply.files.count) of \(batch.count) paths")
            }
            for found in reply.files {
                if let file = found.file {
                    results.append(.success(file))
                } else if let error = found.error {
                    results.append(.failure(error))
                } else {
                    results.append(.failure(DFSError(.protocolError, "the meta server answered neither a file nor an error")))
                }
            }
        }
        return results
    }

    /// Lists a folder, all pages. Listing a file gives that file alone.
    public func list(_ path: DFSPath) async throws -> (info: FileInfo, entries: [FileInfo]) {
        var entries: [FileInfo] = []
        let info = try await listPages(path) { entries += $0 }
        return (info, entries)
    }

    /// Lists a folder page by page, handing each page to `page` as it arrives, so a folder of
    /// any size lists in bounded memory. The meta server streams the pages without waiting
    /// for a request per page, so its work overlaps the caller's. Returns the listed path's
    /// own entry.
    @discardableResult
    public func listPages(_ path: DFSPath, _ page: ([FileInfo]) async throws -> Void) async throws -> FileInfo {
        try await listReplies(path, withBlocks: false) { try await page($0.entries) }
    }

    /// ``listPages(_:_:)`` handing over whole replies; with `withBlocks`, each file of one
    /// block comes with its block (``ListOK/blocks``), for a tree download.
    @discardableResult
    func listReplies(_ path: DFSPath, withBlocks: Bool, _ page: (ListOK) async throws -> Void) async throws -> FileInfo {
        // A listing cut off by a failure goes on after the last name already handed over,
        // so no page is handed over twice.
        var after: String?
        return try await retrier.run("list \(path)") { _ in
            try await pool.withConnection(to: metaServers) { connection in
                let request = List(path: path, after: after, stream: true, withBlocks: withBlocks ? true : nil)
                try await connection.send(request, timeout: self.timeouts.request)
                while true {
                    let (reply, _) = try await connection.readReply(ListOK.self, timeout: self.timeouts.request)
                    try await page(reply)
                    if let last = reply.entries.last { after = last.path.name }
                    if !reply.more { return reply.info }
                }
            }
        }
    }

    public func makeDirectory(_ path: DFSPath) async throws {
        _ = try await metaRequest(MakeDirectory(path: path), expecting: OK.self)
    }

    public func move(_ source: DFSPath, to target: DFSPath) async throws {
        try await idempotentMove(source, to: target)
    }

    /// Sets a file's, link's or folder's permission bits, owner, group or modification time
    /// (`chmod`, `chown`, `touch -m`); what is nil stays as it is.
    public func setAttributes(_ path: DFSPath, mode: Int? = nil, uid: Int? = nil, gid: Int? = nil, mtime: Double? = nil) async throws {
        _ = try await metaRequest(SetAttributes(path: path, mode: mode, uid: uid, gid: gid, mtime: mtime), expecting: OK.self)
    }

    /// Makes a symbolic link at `path` pointing to `target` (`ln -s TARGET PATH`); with
    /// `overwrite`, a file or link there is replaced. Retried: when a try that made the link
    /// lost its reply, the next finds it made, and that is success.
    public func makeLink(_ path: DFSPath, target: String, overwrite: Bool = false) async throws {
        try await retrier.run("link") { attempt in
            do {
                _ = try await self.send(MakeLink(path: path, target: target, overwrite: overwrite), expecting: OK.self)
            } catch let error as DFSError where error.code == .alreadyExists && attempt > 0 {
                let found = try await self.send(GetFile(path: path), expecting: GetFileOK.self)
                guard found.info.type == .link, found.info.target == target else { throw error }
            }
        }
    }

    public func remove(_ path: DFSPath, recursive: Bool) async throws {
        try await idempotentRemove(path, recursive: recursive)
    }
}

extension DFSClient {
    /// Every node and the cluster's totals.
    public func status() async throws -> StatusOK {
        try await metaRequest(StatusRequest(), expecting: StatusOK.self)
    }

    /// Every file under `path` whose blocks lack good replicas, and totals.
    public func fsck(_ path: DFSPath = .root) async throws -> FsckOK {
        try await metaRequest(FsckRequest(path: path), expecting: FsckOK.self)
    }
}
