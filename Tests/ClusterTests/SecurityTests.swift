import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

/// A cluster with a secret: who gets in, who does not, and what a block id alone is worth.
@Suite struct SecurityTests {
    static let secretText = "correct horse battery staple 42"
    static let secret = try! ClusterSecret(secretText)
    static let otherSecret = try! ClusterSecret("another cluster's secret text")

    static func secured(_ options: inout MetaServer.Options) {
        options.secret = secret
    }

    static func expectUnauthorized(_ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what) was let in")
        } catch let error as DFSError {
            #expect(error.code == .unauthorized, "\(what): \(error.message)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test func rightSecretWorksEndToEnd() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("f", count: 3 * 1024 * 1024 + 5, seed: 61)
        try await withCluster(configure: Self.secured) { cluster in
            let path = try DFSPath("/secret/f")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 1024 * 1024))
            try await cluster.client.download(path, to: local.path("back"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == bytes)
            let stat = try await cluster.client.stat(path)
            #expect(stat.blocks.allSatisfy { $0.token != nil && $0.replicas.count == 3 })
        }
    }

    /// A tree upload's batches carry a write token per block, forwarded down the pipeline;
    /// a batch in which one block lacks its own write token is refused whole.
    @Test func batchesOfSmallFilesNeedATokenPerBlock() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var originals: [[UInt8]] = []
        for index in 0..<20 {
            originals.append(try local.writeRandomFile("tree/f\(index)", count: 1000 + index, seed: UInt64(6300 + index)))
        }
        try await withCluster(configure: Self.secured) { cluster in
            let result = try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 3))
            #expect(result.files == 20)
            try await cluster.client.download(try DFSPath("/t/f7"), to: local.path("back"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == originals[7])
            #expect(try await cluster.client.stat(try DFSPath("/t/f7")).blocks.first?.replicas.count == 3)

            let server = try #require(cluster.dataServers.first ?? nil)
            let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(5), secret: Self.secret)
            defer { Task { await connection.close() } }
            let bytes = [UInt8](repeating: 9, count: 100)
            let now = Date().timeIntervalSince1970
            func block(_ id: UInt64, _ token: String?) -> BatchBlock {
                BatchBlock(blockID: BlockID(id), length: bytes.count, checksums: BlockData.checksums(of: bytes), token: token)
            }
            let nodes = [server.store.nodeID]
            let good = Self.secret.blockToken(BlockID(900_001), .write, nodes: nodes, expires: now + 60)
            let refused: [(String, String?)] = [
                ("no token", nil),
                ("another block's token", good),
                ("a read token", Self.secret.blockToken(BlockID(900_002), .read, nodes: nodes, expires: now + 60)),
                ("an expired token", Self.secret.blockToken(BlockID(900_002), .write, nodes: nodes, expires: now - 5)),
            ]
            for (what, token) in refused {
                let reply = try await connection.requestResult(
                    WriteBlocks(blocks: [block(900_001, good), block(900_002, token)]), payload: bytes + bytes,
                    expecting: WriteBlocksOK.self, timeout: .seconds(20))
                #expect(Self.code(reply) == .unauthorized, "a batch with \(what)")
            }
            #expect(server.store.length(of: BlockID(900_001)) == nil)
            let accepted = try await connection.requestResult(
                WriteBlocks(blocks: [block(900_001, good), block(900_002, Self.secret.blockToken(BlockID(900_002), .write, nodes: nodes, expires: now + 60))]),
                payload: bytes + bytes, expecting: WriteBlocksOK.self, timeout: .seconds(20))
            #expect(Self.code(accepted) == nil)
            #expect(server.store.length(of: BlockID(900_002)) == bytes.count)
        }
    }

    @Test func clientsWithoutOrWithAWrongSecretAreRefused() async throws {
        try await withCluster(dataNodes: 1, configure: Self.secured) { cluster in
            let node = try #require(cluster.dataServers.first??.endpoint)
            for endpoint in [cluster.metaEndpoint, node] {
                await Self.expectUnauthorized("no secret at \(endpoint)") {
                    _ = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
                }
                await Self.expectUnauthorized("wrong secret at \(endpoint)") {
                    _ = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(5), secret: Self.otherSecret)
                }
                let good = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(5), secret: Self.secret)
                await good.close()
            }
            let stranger = DFSClient(meta: cluster.metaEndpoint)
            defer { Task { await stranger.close() } }
            await Self.expectUnauthorized("a client without the secret") { _ = try await stranger.list(.root) }
        }
    }

    /// A peer that opens with a plain `hello` (no TLS) is told why in one line, in plain text,
    /// and the connection is closed; one that starts TLS with another key gets nothing but
    /// a failed handshake.
    @Test func theServerRefusesPlainTextAndOtherKeysItself() async throws {
        try await withCluster(dataNodes: 1, configure: Self.secured) { cluster in
            for endpoint in Self.servers(cluster) {
                let plain = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                let reply = try await plain.requestResult(Hello(role: .client), expecting: HelloOK.self, timeout: .seconds(20))
                guard case .failure(let error) = reply else {
                    Issue.record("\(endpoint) answered a plain hello")
                    continue
                }
                #expect(error.code == .unauthorized)
                #expect(error.message.contains("needs the cluster secret"), "\(error.message)")
                #expect(try await plain.readFrame(timeout: .seconds(20)) == nil, "closed after the refusal")
                await plain.close()

                let stranger = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                await Self.expectUnauthorized("another key at \(endpoint)") {
                    try await stranger.startTLS(Self.otherSecret, asServer: false, deadline: .now + .seconds(20))
                }
                await stranger.close()
            }
        }
    }

    /// A relay between a member and the real meta server forwards the member's handshake and
    /// first request, then tries to take the session over: it sends a request of its own (a
    /// plain frame, then a replay of the member's own request bytes). Neither is executed,
    /// and the server drops the connection.
    @Test func aRelayCannotTakeTheSessionOver() async throws {
        try await withCluster(dataNodes: 1, configure: Self.secured) { cluster in
            let relay = try ByteRelay(to: cluster.metaEndpoint)
            defer { relay.stop() }
            let member = try await Connection.open(to: relay.endpoint, role: .client, timeout: .seconds(20), secret: Self.secret)
            let listed = try await member.request(List(path: .root), expecting: ListOK.self, timeout: .seconds(20))
            #expect(listed.entries.isEmpty)
            let memberBytes = relay.clientBytes
            #expect(!memberBytes.isEmpty)
            #expect(!String(decoding: memberBytes, as: UTF8.self).contains("\"list\""), "the member's request went encrypted")

            relay.takeOver(
                inject: try FrameEncoder.frame(MakeDirectory(path: try DFSPath("/written-by-impostor"))) + Array(memberBytes.suffix(64)))
            try await eventually("the meta server dropped the relayed connection") { relay.serverClosed }
            let check = DFSClient(meta: cluster.metaEndpoint, secret: Self.secret)
            let root = try await check.list(.root)
            #expect(root.entries.isEmpty, "\(root.entries.map(\.path))")
            await check.close()
            await member.close()
        }
    }

    /// A fake server that answers `hello` at once, without proving anything, receives no
    /// request from a member: the member's first bytes are a TLS ClientHello, and it gives up
    /// when the answer is not TLS.
    @Test func aFakeServerReceivesNoRequestFromAMember() async throws {
        let fake = try FakeServer(reply: try FrameEncoder.frame(HelloOK(role: .metaServer)))
        defer { fake.stop() }
        await Self.expectUnauthorized("a fake meta server") {
            _ = try await Connection.open(to: fake.endpoint, role: .client, timeout: .seconds(20), secret: Self.secret)
        }
        let client = DFSClient(meta: fake.endpoint, secret: Self.secret, retryFor: .zero)
        await Self.expectUnauthorized("a client asking a fake meta server") { _ = try await client.list(try DFSPath("/topsecret/payroll")) }
        await client.close()
        let received = fake.received
        #expect(!received.isEmpty && received.allSatisfy { $0.first == Connection.tlsRecordStart }, "every connection opened with TLS")
        #expect(!received.contains { String(decoding: $0, as: UTF8.self).contains("payroll") || String(decoding: $0, as: UTF8.self).contains("\"hello\"") })
    }

    /// While the secret changes, a cluster whose secret text holds the new secret and the old
    /// one accepts members with either.
    @Test func bothSecretsOfAChangeAreAccepted() async throws {
        let rotating = try ClusterSecret("the new secret, long enough\n\(Self.secretText)")
        try await withCluster(dataNodes: 1, configure: { $0.secret = rotating }) { cluster in
            for secret in [Self.secret, try ClusterSecret("the new secret, long enough"), rotating] {
                let connection = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(20), secret: secret)
                _ = try await connection.request(List(path: .root), expecting: ListOK.self, timeout: .seconds(20))
                await connection.close()
            }
            await Self.expectUnauthorized("a third secret") {
                _ = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(20), secret: Self.otherSecret)
            }
        }
    }

    @Test func dataNodeWithAWrongSecretCannotJoin() async throws {
        try await withCluster(dataNodes: 1, configure: Self.secured) { cluster in
            let intruder = try await cluster.addDataNode { $0.secret = Self.otherSecret }
            try await eventually("the intruder was refused") {
                await intruder.lastMetaError?.code == .unauthorized
            }
            #expect(await !intruder.isRegistered)
            #expect(try await cluster.meta.service.liveNodeCount() == 1)
            let withoutSecret = try await cluster.addDataNode { $0.secret = nil }
            try await eventually("the node without a secret was refused") {
                await withoutSecret.lastMetaError?.code == .unauthorized
            }
            #expect(try await cluster.meta.service.liveNodeCount() == 1)
        }
    }

    /// Knowing a block id is not enough: a data node serves a block only with the meta
    /// server's token for that block and that operation, before it expires.
    @Test func blockAccessNeedsTheRightToken() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 200_000, seed: 62)
        try await withCluster(dataNodes: 1, configure: Self.secured) { cluster in
            try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/a"))
            try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/b"))
            let block = try #require(try await cluster.client.stat(try DFSPath("/a")).blocks.first)
            let other = try #require(try await cluster.client.stat(try DFSPath("/b")).blocks.first)
            let node = try #require(cluster.dataServers.first??.endpoint)
            let nodeID = try #require(cluster.dataServers.first??.store.nodeID)
            let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(5), secret: Self.secret)
            defer { Task { await connection.close() } }
            let now = Date().timeIntervalSince1970
            #expect(block.token?.contains(nodeID.rawValue) == true, "a read token names the nodes it is for")
            let refused: [(String, String?)] = [
                ("no token", nil),
                ("an expired token", Self.secret.blockToken(block.blockID, .read, nodes: [nodeID], expires: now - 5)),
                ("another block's token", other.token),
                ("a write token", Self.secret.blockToken(block.blockID, .write, nodes: [nodeID], expires: now + 60)),
                ("a token for other nodes", Self.secret.blockToken(block.blockID, .read, nodes: [NodeID("node-elsewhere")], expires: now + 60)),
                ("a token signed with another secret", Self.otherSecret.blockToken(block.blockID, .read, nodes: [nodeID], expires: now + 60)),
                ("garbage", "1.read.99999999999.\(nodeID).not-a-mac"),
            ]
            for (what, token) in refused {
                let result = try await connection.requestResult(
                    ReadBlock(blockID: block.blockID, token: token), expecting: ReadBlockOK.self, timeout: .seconds(20))
                #expect(Self.code(result) == .unauthorized, "read with \(what)")
            }
            let good = try await connection.requestResult(
                ReadBlock(blockID: block.blockID, token: block.token), expecting: ReadBlockOK.self, timeout: .seconds(20))
            #expect(Self.code(good) == nil)
            // A refused write ends its connection (the block's data would follow the request).
            let writer = try await Connection.open(to: node, role: .client, timeout: .seconds(5), secret: Self.secret)
            defer { Task { await writer.close() } }
            let write = try await writer.requestResult(
                WriteBlock(blockID: BlockID(block.blockID.rawValue + 1000), length: 10, token: block.token),
                expecting: WriteBlockOK.self, timeout: .seconds(20))
            #expect(Self.code(write) == .unauthorized, "a read token for one block does not write another")
        }
    }

    /// Repair copies travel node to node with the meta server's write token.
    @Test func repairWorksWithASecret() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 300_000, seed: 63)
        try await withCluster(
            dataNodes: 3,
            configure: { options in
                Self.secured(&options)
                options.heartbeatInterval = .milliseconds(100)
                options.deadAfter = .seconds(3)
                options.repairInterval = .milliseconds(100)
            }
        ) { cluster in
            let path = try DFSPath("/r")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 2))
            let holders = try await cluster.client.stat(path).blocks[0].replicas.map(\.nodeID)
            let index = try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == holders[0] })
            await cluster.stopDataNode(index)
            try await eventually(timeout: .seconds(20), "the block copied to the third node") {
                let replicas = try await cluster.client.stat(path).blocks[0].replicas.map(\.nodeID)
                return replicas.filter { cluster.dataServer($0) != nil }.count == 2
            }
        }
    }

    @Test func commandLineUsesDFSSecretAndSecretFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try Data("\(Self.secretText)\n".utf8).write(to: URL(fileURLWithPath: local.path("secret")))
        try Data("not the one we need here\n".utf8).write(to: URL(fileURLWithPath: local.path("wrong")))
        try await withCluster(dataNodes: 1, configure: Self.secured) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let refused = try await DFSBinary.run(["ls", meta])
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("needs the cluster secret"), "\(refused.standardError)")
            let wrong = try await DFSBinary.run(["ls", "--secret-file", local.path("wrong"), meta])
            #expect(wrong.status == 1)
            #expect(wrong.standardError.contains("another secret, or none"), "\(wrong.standardError)")
            let fromFile = try await DFSBinary.run(["cp", "--secret-file", local.path("secret"), "--replication", "1", local.path("secret"), "\(meta):/s"])
            #expect(fromFile.status == 0, "\(fromFile.standardError)")
            let fromEnvironment = try await DFSBinary.run(["cat", "\(meta):/s"], environment: ["DFS_SECRET": Self.secretText])
            #expect(fromEnvironment.status == 0, "\(fromEnvironment.standardError)")
            #expect(fromEnvironment.standardOutput == Self.secretText + "\n")
            let short = try await DFSBinary.run(["ls", meta], environment: ["DFS_SECRET": "short"])
            #expect(short.status == 1)
            #expect(short.standardError.contains("at least 16 bytes"))
        }
    }

    // MARK: Helpers

    static func servers(_ cluster: TestCluster) -> [Endpoint] {
        [cluster.metaEndpoint] + cluster.dataServers.compactMap { $0?.endpoint }
    }

    static func code<T>(_ result: Result<T, DFSError>) -> DFSError.Code? {
        if case .failure(let error) = result { return error.code }
        return nil
    }
}
