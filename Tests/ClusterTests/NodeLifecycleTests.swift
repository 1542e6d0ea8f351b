import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

@Suite struct NodeLifecycleTests {
    @Test func dataNodeStartedBeforeMetaServerRegistersOnceItIsUp() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let reserved = try ReservedPort()
        let metaEndpoint = Endpoint(host: "127.0.0.1", port: reserved.port)
        var dataOptions = DataServer.Options(
            listen: Endpoint(host: "127.0.0.1", port: 0), meta: metaEndpoint, folder: local.path("data"))
        dataOptions.retryInterval = .milliseconds(50)
        let data = try await DataServer.start(dataOptions)
        #expect(await !data.isRegistered)
        reserved.release()
        var metaOptions = MetaServer.Options(listen: metaEndpoint, databasePath: local.path("meta.db"))
        metaOptions.heartbeatInterval = .milliseconds(100)
        let meta = try await MetaServer.start(metaOptions)
        do {
            try await eventually("the data node registered") { try await meta.service.liveNodeCount() == 1 }
        } catch {
            await data.stop()
            await meta.stop()
            throw error
        }
        await data.stop()
        await meta.stop()
    }

    @Test func restartedDataNodeKeepsItsIDAndServesItsBlocks() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 200_000, seed: 9)
        try await withCluster(dataNodes: 1) { cluster in
            let firstID = try #require(cluster.dataServers[0]?.store.nodeID)
            try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/f"), options: UploadOptions(blockBytes: 65536))
            await cluster.stopDataNode(0)
            let restarted = try await cluster.addDataNode(index: 0)
            #expect(restarted.store.nodeID == firstID)
            try await eventually("the restarted node registered its new port") {
                let stat = try await cluster.client.stat(try DFSPath("/f"))
                return stat.blocks.allSatisfy { $0.replicas.first?.address == restarted.endpoint }
            }
            try await cluster.client.download(try DFSPath("/f"), to: local.path("out"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original)
        }
    }

    @Test func metaServerRestartKeepsCompletedFiles() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 70_000, seed: 10)
        var metaOptions = MetaServer.Options(listen: Endpoint(host: "127.0.0.1", port: 0), databasePath: local.path("meta.db"))
        metaOptions.heartbeatInterval = .milliseconds(100)
        let meta = try await MetaServer.start(metaOptions)
        var dataOptions = DataServer.Options(listen: Endpoint(host: "127.0.0.1", port: 0), meta: meta.endpoint, folder: local.path("data"))
        dataOptions.retryInterval = .milliseconds(50)
        let data = try await DataServer.start(dataOptions)
        let client = DFSClient(meta: meta.endpoint)
        try await eventually("node registered") { try await meta.service.liveNodeCount() == 1 }
        try await client.upload(localPath: local.path("f"), to: try DFSPath("/kept"))
        await client.close()
        await meta.stop()
        // The same database on the same port, as after a restart of the process.
        metaOptions.listen = meta.endpoint
        let again = try await MetaServer.start(metaOptions)
        let info = try await client.stat(try DFSPath("/kept"))
        #expect(info.info.size == 70_000)
        try await client.download(try DFSPath("/kept"), to: local.path("out"))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original)
        await client.close()
        await data.stop()
        await again.stop()
    }
}
