import DFSClient
import DFSCore
import DFSData
import DFSNet
import DFSTesting
import Foundation
import Testing

/// Clients and data nodes given several meta servers (`a:8000,b:8000`) find the one that
/// answers: past an address that refuses connections, and through a standby that names the
/// active server. The standby here is a stand-in that answers every request with
/// `notActive`, as a standby meta server does.
@Suite(.serialized) struct MetaServerListTests {
    /// A meta server in standby: it completes the handshake, then answers every request
    /// with `notActive`, naming `active`.
    final class Standby: Sendable {
        let listener: Listener
        var endpoint: Endpoint { listener.endpoint }

        init(active: Endpoint?) async throws {
            listener = try Listener(host: "127.0.0.1", port: 0, component: "standby")
            await listener.start { connection in
                await FrameServer.serve(connection, role: .metaServer, component: "standby", timeouts: .standard) { _, _ in
                    throw DFSError.notActive(active: active)
                }
            }
        }

        func stop() async { await listener.close() }
    }

    @Test func aClientGoesPastARefusedAddressAndAStandbyToTheActiveServer() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("f", count: 300_000, seed: 9)
        try await withCluster(dataNodes: 2) { cluster in
            let refused = try ReservedPort()
            let standby = try await Standby(active: cluster.metaEndpoint)
            let client = DFSClient(metaServers: [Endpoint(host: "127.0.0.1", port: refused.port), standby.endpoint], retryFor: .seconds(20))
            do {
                let path = try DFSPath("/listed/f")
                try await client.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 2))
                #expect(client.meta == cluster.metaEndpoint)
                try await client.download(path, to: local.path("out"))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == bytes)
                #expect(try await client.stat(path).info.size == 300_000)
            } catch {
                await client.close()
                await standby.stop()
                throw error
            }
            await client.close()
            await standby.stop()
        }
    }

    @Test func aDataNodeRegistersThroughAStandby() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let standby = try await Standby(active: cluster.metaEndpoint)
            let node = try await cluster.addDataNode { $0.metaServers = [standby.endpoint, cluster.metaEndpoint] }
            try await cluster.waitForLiveNodes(2)
            #expect(try await cluster.client.status().nodes.contains { $0.id == node.store.nodeID && $0.alive })
            await standby.stop()
        }
    }

    @Test func aStandbyThatKnowsNoActiveServerIsAClearError() async throws {
        let standby = try await Standby(active: nil)
        let client = DFSClient(metaServers: [standby.endpoint], retryFor: .milliseconds(300))
        await #expect {
            _ = try await client.status()
        } throws: { error in
            let error = DFSError.wrap(error)
            return error.message.contains("standby") && error.message.contains("no active one is known")
        }
        await client.close()
        await standby.stop()
    }

    @Test func theCommandLineTakesListsAndDFSMetaTakesOne() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try Data("listed\n".utf8).write(to: URL(fileURLWithPath: local.path("a.txt")))
        try await withCluster(dataNodes: 1, configure: { $0.defaultReplication = 1 }) { cluster in
            let standby = try await Standby(active: cluster.metaEndpoint)
            let list = "\(standby.endpoint),\(cluster.metaEndpoint)"
            let copy = try await DFSBinary.run(["cp", "-q", local.path("a.txt"), "\(list):/cli/a.txt"])
            #expect(copy.status == 0, "\(copy.standardError)")
            let listing = try await DFSBinary.run(["ls", "dfs:/cli"], environment: ["DFS_META": list])
            #expect(listing.status == 0, "\(listing.standardError)")
            #expect(listing.standardOutput.contains("a.txt"))
            let status = try await DFSBinary.run(["status", list])
            #expect(status.status == 0, "\(status.standardError)")
            #expect(status.standardOutput.contains("nodes: 1 alive"))
            await standby.stop()
        }
    }
}
