import DFSCore
import DFSNet
import Foundation

/// Talks to a cluster: the meta server for names and placement, data nodes for bytes.
///
/// Used by the command line and by tests. Connections are pooled and reused across calls.
public final class DFSClient: Sendable {
    public let meta: Endpoint
    let pool: ConnectionPool
    let timeouts: Timeouts
    /// Told how many bytes each transfer step moved (uploaded or downloaded), for progress.
    public let progress: (@Sendable (Int) -> Void)?
    /// Data nodes seen to time out, avoided by every later transfer; the hedging delay.
    let avoidance: NodeAvoidance

    public init(meta: Endpoint, timeouts: Timeouts = .standard, secret: ClusterSecret? = nil, progress: (@Sendable (Int) -> Void)? = nil) {
        self.meta = meta
        self.timeouts = timeouts
        self.pool = ConnectionPool(role: .client, timeouts: timeouts, secret: secret)
        self.progress = progress
        self.avoidance = NodeAvoidance(stall: timeouts.stall)
    }

    /// Closes pooled connections. The client can still be used afterwards.
    public func close() async {
        await pool.closeAll()
    }

    func metaRequest<Request: Message, Reply: Message>(_ request: Request, expecting: Reply.Type) async throws -> Reply {
        try await pool.request(request, to: meta, expecting: Reply.self)
    }

    /// A file's or folder's metadata, with block locations for a file.
    public func stat(_ path: DFSPath) async throws -> GetFileOK {
        try await metaRequest(GetFile(path: path), expecting: GetFileOK.self)
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
        try await pool.withConnection(to: meta) { connection in
            try await connection.send(List(path: path, stream: true), timeout: self.timeouts.request)
            while true {
                let (reply, _) = try await connection.readReply(ListOK.self, timeout: self.timeouts.request)
                try await page(reply.entries)
                if !reply.more { return reply.info }
            }
        }
    }

    public func makeDirectory(_ path: DFSPath) async throws {
        _ = try await metaRequest(MakeDirectory(path: path), expecting: OK.self)
    }

    public func move(_ source: DFSPath, to target: DFSPath) async throws {
        _ = try await metaRequest(Move(source: source, target: target), expecting: OK.self)
    }

    public func remove(_ path: DFSPath, recursive: Bool) async throws {
        _ = try await metaRequest(Remove(path: path, recursive: recursive), expecting: OK.self)
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
