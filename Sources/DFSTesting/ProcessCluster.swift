import DFSCore
import DFSSystem
import Foundation

/// A meta server and data nodes as processes of their own, under one temp folder, for tests
/// that kill them (SIGKILL, as a crash would) and start them again on the same folders.
///
/// The meta server keeps its port across restarts (nodes and clients know it by address);
/// a data node gets a new port at each start and tells the meta server when it registers.
/// ``shutdown()`` kills every process; the folder is removed by the caller's ``TempFolder``.
public final class ProcessCluster: @unchecked Sendable {
    public let folder: String
    private let metaArguments: [String]
    private let dataArguments: [String]
    private let state = Mutex(State())

    private struct State {
        var meta: ServerProcess?
        var metaPort = 0
        var nodes: [ServerProcess?] = []
    }

    /// Starts a meta server with `metaArguments` added to its command line and `dataNodes`
    /// nodes with `dataArguments` added to theirs.
    public init(folder: String, dataNodes: Int, metaArguments: [String] = [], dataArguments: [String] = []) async throws {
        self.folder = folder
        self.metaArguments = metaArguments
        self.dataArguments = dataArguments
        try await startMeta()
        for index in 0..<dataNodes { try await startNode(index) }
    }

    /// The meta server's address, the same across restarts.
    public var metaEndpoint: Endpoint {
        Endpoint(host: "127.0.0.1", port: state.withLock { $0.metaPort })
    }

    public var nodeCount: Int { state.withLock { $0.nodes.count } }

    public var isMetaRunning: Bool { state.withLock { $0.meta != nil } }

    public func isNodeRunning(_ index: Int) -> Bool {
        state.withLock { index < $0.nodes.count && $0.nodes[index] != nil }
    }

    /// Process ids of the running servers, meta server first (for memory checks and signals).
    public var processIdentifiers: [Int32] {
        state.withLock { state in ([state.meta] + state.nodes).compactMap { $0?.processIdentifier } }
    }

    public func nodeFolder(_ index: Int) -> String { folder + "/data\(index)" }

    /// Starts the meta server, on its earlier port after the first start.
    public func startMeta() async throws {
        let port = state.withLock { $0.metaPort }
        let meta = try await ServerProcess(
            ["serve-meta", "--host", "127.0.0.1", "--port", String(port), "--db", folder + "/meta.db"] + metaArguments)
        state.withLock { state in
            state.meta = meta
            state.metaPort = meta.endpoint.port
        }
    }

    /// Kills the meta server with SIGKILL, as a crash would.
    public func killMeta() {
        let meta = state.withLock { state in
            defer { state.meta = nil }
            return state.meta
        }
        meta?.kill()
    }

    /// Starts data node `index` (a new one, or again on its old folder).
    public func startNode(_ index: Int) async throws {
        let node = try await ServerProcess(
            ["serve-data", "--listen", "127.0.0.1:0", "--meta", metaEndpoint.description, "--dir", nodeFolder(index)] + dataArguments)
        state.withLock { state in
            while state.nodes.count <= index { state.nodes.append(nil) }
            state.nodes[index] = node
        }
    }

    /// Kills data node `index` with SIGKILL; its folder stays.
    public func killNode(_ index: Int) {
        let node = state.withLock { state -> ServerProcess? in
            guard index < state.nodes.count else { return nil }
            defer { state.nodes[index] = nil }
            return state.nodes[index]
        }
        node?.kill()
    }

    /// Starts whatever is not running.
    public func startAll() async throws {
        if !isMetaRunning { try await startMeta() }
        for index in 0..<nodeCount where !isNodeRunning(index) { try await startNode(index) }
    }

    /// Blocks stored on node `index` as files of their own (`blocks/XY/blk_…`, checksum files
    /// and temp files not counted). Blocks inside packs are not counted.
    public func blockFileCount(_ index: Int) -> Int {
        let blocks = nodeFolder(index) + "/blocks"
        var count = 0
        for shard in (try? FileSystem.contentsOfFolder(blocks)) ?? [] where shard != "packs" {
            for name in (try? FileSystem.contentsOfFolder(blocks + "/" + shard)) ?? []
            where name.hasPrefix("blk_") && !name.hasSuffix(".crc") {
                count += 1
            }
        }
        return count
    }

    /// Kills every process.
    public func shutdown() {
        let all = state.withLock { state in
            defer {
                state.meta = nil
                state.nodes = state.nodes.map { _ in nil }
            }
            return [state.meta] + state.nodes
        }
        for server in all { server?.kill() }
    }

    deinit { shutdown() }
}
