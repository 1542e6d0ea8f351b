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

    public init(meta: Endpoint, timeouts: Timeouts = .standard) {
        self.meta = meta
        self.timeouts = timeouts
        self.pool = ConnectionPool(role: .client, timeouts: timeouts)
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
        var after: String?
        while true {
            let page = try await metaRequest(List(path: path, after: after), expecting: ListOK.self)
            entries += page.entries
            guard page.more, let last = page.entries.last else { return (page.info, entries) }
            after = last.path.name
        }
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
