import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSNet
import DFSSystem
import Foundation

/// A meta server and data nodes in this process, on 127.0.0.1 with ports the kernel picks,
/// in a temp folder of their own.
///
/// Use ``withCluster(dataNodes:_:)``: it shuts everything down on every path, deletes the
/// folder when the body succeeds and keeps it (printing its path) when the body throws.
public final class TestCluster: @unchecked Sendable {
    public let folder: URL
    public private(set) var meta: MetaServer
    public private(set) var dataServers: [DataServer?]
    public let client: DFSClient
    private var metaOptions: MetaServer.Options
    /// Applied to every data node this cluster starts, before a node's own `configure`.
    public var configureData: (inout DataServer.Options) -> Void = { _ in }

    public var metaEndpoint: Endpoint { meta.endpoint }

    public static func start(
        dataNodes: Int = 3, configure: (inout MetaServer.Options) -> Void = { _ in },
        configureData: @escaping (inout DataServer.Options) -> Void = { _ in }
    ) async throws -> TestCluster {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-test-\(UUID().uuidString.prefix(8))")
        try FileSystem.makeFolders(folder.path)
        var options = MetaServer.Options(
            listen: Endpoint(host: "127.0.0.1", port: 0), databasePath: folder.appendingPathComponent("meta.db").path)
        options.heartbeatInterval = .milliseconds(100)
        configure(&options)
        let meta = try await MetaServer.start(options)
        let cluster = TestCluster(folder: folder, meta: meta, options: options)
        cluster.configureData = configureData
        for _ in 0..<dataNodes { try await cluster.addDataNode() }
        try await cluster.waitForLiveNodes(dataNodes)
        return cluster
    }

    private init(folder: URL, meta: MetaServer, options: MetaServer.Options) {
        self.folder = folder
        self.meta = meta
        self.metaOptions = options
        self.dataServers = []
        // A cluster configured with a secret gives it to its client and its data nodes.
        self.client = DFSClient(meta: meta.endpoint, secret: options.secret)
    }

    public func dataFolder(_ index: Int) -> String {
        folder.appendingPathComponent("data\(index)").path
    }

    /// Starts one more data node (or restarts node `index` on its old folder).
    @discardableResult
    public func addDataNode(index: Int? = nil, configure: (inout DataServer.Options) -> Void = { _ in }) async throws -> DataServer {
        let position = index ?? dataServers.count
        var options = DataServer.Options(
            listen: Endpoint(host: "127.0.0.1", port: 0), meta: meta.endpoint, folder: dataFolder(position))
        options.retryInterval = .milliseconds(50)
        // Many clusters run at once in a test run; scrubbing is turned on by the tests of it.
        options.scrubBytesPerSecond = 0
        options.secret = metaOptions.secret
        configureData(&options)
        configure(&options)
        let server = try await DataServer.start(options)
        if position < dataServers.count {
            dataServers[position] = server
        } else {
            dataServers.append(server)
        }
        return server
    }

    /// Stops data node `index`, as if its process died; its folder stays.
    public func stopDataNode(_ index: Int) async {
        await dataServers[index]?.stop()
        dataServers[index] = nil
    }

    /// Stops the meta server, as if its process died; its database stays, and its port is
    /// not taken again until ``startMeta()``. Clients and data nodes find it refusing
    /// connections meanwhile.
    public func stopMeta() async {
        await meta.stop()
    }

    /// Starts the meta server again on its database and on its old port, which the data
    /// nodes and clients already know. The port is free again once the old listener closed;
    /// another socket may hold it for a moment (a connection's local port), so binding is
    /// tried again for a few seconds.
    ///
    /// With `databasePath`, the server serves that database instead (a backup being
    /// restored), from now on, restarts included.
    public func startMeta(databasePath: String? = nil) async throws {
        if let databasePath { metaOptions.databasePath = databasePath }
        var options = metaOptions
        options.listen = meta.endpoint
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                meta = try await MetaServer.start(options)
                return
            } catch let error as DFSError where ContinuousClock.now < deadline && error.message.contains("in use") {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Stops the meta server and starts it again on the same database and port.
    public func restartMeta() async throws {
        await stopMeta()
        try await startMeta()
    }

    /// The running data node with this id.
    public func dataServer(_ nodeID: NodeID) -> DataServer? {
        dataServers.compactMap { $0 }.first { $0.store.nodeID == nodeID }
    }

    /// Checks that the metadata and the nodes agree: every replica the meta server lists for
    /// `path` on a running node is a block file there of the recorded length.
    public func checkReplicasExist(_ path: DFSPath) async throws {
        let file = try await client.stat(path)
        for block in file.blocks {
            for replica in block.replicas {
                guard let server = dataServer(replica.nodeID) else { continue }
                guard server.store.length(of: block.blockID) == block.length else {
                    throw DFSError(.internalError, "block \(block.blockID) of \(path) is listed on \(replica.nodeID) but not stored there")
                }
            }
        }
    }

    /// Waits until the meta server has `count` nodes with recent heartbeats.
    public func waitForLiveNodes(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await eventually(timeout: timeout, "\(count) data nodes registered") {
            let nodes = try await self.meta.service.liveNodeCount()
            return nodes >= count
        }
    }

    /// Stops every server and closes the client.
    public func shutdown() async {
        await client.close()
        for server in dataServers { await server?.stop() }
        await meta.stop()
    }
}

/// Runs `body` with a fresh cluster and always shuts it down. The folder is deleted when the
/// body succeeds and kept, with its path printed, when it fails.
public func withCluster<T>(
    dataNodes: Int = 3, configure: (inout MetaServer.Options) -> Void = { _ in },
    configureData: @escaping (inout DataServer.Options) -> Void = { _ in },
    _ body: (TestCluster) async throws -> T
) async throws -> T {
    let cluster = try await TestCluster.start(dataNodes: dataNodes, configure: configure, configureData: configureData)
    do {
        let result = try await body(cluster)
        await cluster.shutdown()
        try? FileSystem.removeTree(cluster.folder.path)
        return result
    } catch {
        await cluster.shutdown()
        print("cluster folder kept for inspection: \(cluster.folder.path)")
        throw error
    }
}

/// Polls `condition` until it holds, failing after `timeout`. Tests wait for a state this way
/// instead of sleeping and hoping.
public func eventually(
    timeout: Duration = .seconds(10), _ what: String, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= deadline {
            throw DFSError(.timeout, "timed out after \(timeout) waiting for: \(what)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A temp folder for a test's local files, removed by `remove()`.
public struct TempFolder: Sendable {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-local-\(UUID().uuidString.prefix(8))")
        try FileSystem.makeFolders(url.path)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public func remove() { try? FileSystem.removeTree(url.path) }

    /// Writes `count` bytes from a seeded generator and returns them.
    @discardableResult
    public func writeRandomFile(_ name: String, count: Int, seed: UInt64) throws -> [UInt8] {
        let bytes = SplitMix64.bytes(count: count, seed: seed)
        try FileSystem.write(bytes, to: url.appendingPathComponent(name).path)
        return bytes
    }
}
