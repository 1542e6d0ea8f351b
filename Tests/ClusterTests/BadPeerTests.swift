import DFSClient
import DFSCore
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

/// Peers that misbehave get an error or are cut off; everyone else goes on being served.
@Suite struct BadPeerTests {
    /// An upload and download through the cluster, to show it still serves.
    static func roundTrip(_ cluster: TestCluster, name: String) async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("in", count: 300_000, seed: 42)
        let path = try DFSPath("/check/\(name)")
        try await cluster.client.upload(localPath: local.path("in"), to: path, options: UploadOptions(blockBytes: 65536))
        try await cluster.client.download(path, to: local.path("out"))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original)
    }

    static func allServers(_ cluster: TestCluster) -> [Endpoint] {
        [cluster.metaEndpoint] + cluster.dataServers.compactMap { $0?.endpoint }
    }

    /// A peer that sends a request one byte at a time is cut off once the request deadline
    /// passes, long before the idle timeout, and the slot is freed.
    @Test func tricklingPeerIsCutOffAtTheRequestDeadline() async throws {
        var timeouts = Timeouts()
        timeouts.request = .seconds(1)
        timeouts.idle = .seconds(60)
        try await withCluster(dataNodes: 1, configure: { $0.timeouts = timeouts }, configureData: { $0.timeouts = timeouts }) { cluster in
            for endpoint in Self.allServers(cluster) {
                let connection = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
                let header = Array(#"{"type":"list","body":{"path":"/"}}"#.utf8)
                let frame = [0, 0, 0, UInt8(header.count)] + header
                let started = ContinuousClock.now
                var cutOff = false
                for byte in frame {
                    do {
                        try await connection.sendRaw([byte], timeout: .seconds(20))
                    } catch {
                        cutOff = true
                        break
                    }
                    // A byte every 200 ms; the reply, if any, says why the server gave up.
                    if let reply = try? await connection.readFrame(timeout: .milliseconds(200)) {
                        #expect(try reply.decode(ErrorMessage.self).error.code == .timeout)
                        cutOff = true
                        break
                    }
                    if await connection.isClosed {
                        cutOff = true
                        break
                    }
                }
                #expect(cutOff, "\(endpoint) let a peer trickle a whole request")
                #expect(ContinuousClock.now - started < .seconds(20))
                await connection.close()
            }
            try await Self.roundTrip(cluster, name: "after-trickle")
        }
    }

    @Test func peerThatConnectsAndClosesWithoutAByteIsHarmless() async throws {
        try await withCluster { cluster in
            for endpoint in Self.allServers(cluster) {
                let connection = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                await connection.close()
            }
            try await Self.roundTrip(cluster, name: "after-close")
        }
    }

    @Test func peerThatAnnouncesMoreBytesThanItSendsIsCutOff() async throws {
        try await withCluster { cluster in
            for endpoint in Self.allServers(cluster) {
                let connection = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                // A header of 100 bytes is announced; 10 arrive, then the peer closes.
                try await connection.sendRaw([0, 0, 0, 100] + Array(repeating: UInt8(ascii: "{"), count: 10), timeout: .seconds(20))
                await connection.close()
            }
            try await Self.roundTrip(cluster, name: "after-short-frame")
        }
    }

    @Test func silentPeerDoesNotStopOthersBeingServed() async throws {
        try await withCluster { cluster in
            var silent: [Connection] = []
            for endpoint in Self.allServers(cluster) {
                silent.append(try await Connection.connect(to: endpoint, timeout: .seconds(20)))
            }
            try await Self.roundTrip(cluster, name: "beside-silent")
            for connection in silent { await connection.close() }
        }
    }

    @Test func oversizedFrameLengthGetsAnErrorFrameThenClose() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            for endpoint in Self.allServers(cluster) {
                let connection = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                try await connection.sendRaw([0xFF, 0xFF, 0xFF, 0xFF], timeout: .seconds(20))
                let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
                let error = try reply.decode(ErrorMessage.self).error
                #expect(error.code == .tooLarge)
                // Then the server closes: the next read sees the end of the stream.
                #expect(try await connection.readFrame(timeout: .seconds(15)) == nil)
                await connection.close()
            }
            try await Self.roundTrip(cluster, name: "after-huge-length")
        }
    }

    @Test func invalidJSONHeaderGetsProtocolError() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            for endpoint in Self.allServers(cluster) {
                let connection = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                let junk = Array("this is not json".utf8)
                try await connection.sendRaw([0, 0, 0, UInt8(junk.count)] + junk, timeout: .seconds(20))
                let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
                #expect(try reply.decode(ErrorMessage.self).error.code == .protocolError)
                await connection.close()
            }
        }
    }

    @Test func requestBeforeHelloIsRefused() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let connection = try await Connection.connect(to: cluster.metaEndpoint, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            try await connection.send(List(path: .root), timeout: .seconds(20))
            let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
            #expect(try reply.decode(ErrorMessage.self).error.code == .protocolError)
        }
    }

    @Test func unknownMessageTypeGetsAnErrorNotACrash() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            for endpoint in Self.allServers(cluster) {
                let connection = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
                let header = Array(#"{"type":"launchRockets","body":{}}"#.utf8)
                try await connection.sendRaw([0, 0, 0, UInt8(header.count)] + header, timeout: .seconds(20))
                let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
                let error = try reply.decode(ErrorMessage.self).error
                #expect(error.code == .protocolError)
                #expect(error.message.contains("launchRockets"))
                await connection.close()
            }
            try await Self.roundTrip(cluster, name: "after-unknown")
        }
    }

    @Test func readOfUnknownBlockIsNotFound() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let node = try #require(cluster.dataServers.first??.endpoint)
            let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(20))
            let result = try await connection.requestResult(ReadBlock(blockID: BlockID(987_654)), expecting: ReadBlockOK.self, timeout: .seconds(20))
            guard case .failure(let error) = result else {
                Issue.record("reading a block that does not exist succeeded")
                return
            }
            #expect(error.code == .notFound)
            await connection.close()
        }
    }

    @Test func unreachableEndpointSaysConnectionRefused() async throws {
        // A port held, without listening, for the whole test.
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let port = reserved.port
        let client = DFSClient(meta: Endpoint(host: "127.0.0.1", port: port), retryFor: .zero)
        let error = await #expect(throws: DFSError.self) {
            _ = try await client.list(.root)
        }
        #expect(error?.message == "cannot connect to 127.0.0.1:\(port): connection refused")
    }

    @Test func metaServerCreatesItsDatabaseWhenThereIsNone() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let databasePath = local.path("new.db")
        #expect(!FileManager.default.fileExists(atPath: databasePath))
        let server = try await MetaServer.start(MetaServer.Options(listen: Endpoint(host: "127.0.0.1", port: 0), databasePath: databasePath))
        let client = DFSClient(meta: server.endpoint)
        let listing = try await client.list(.root)
        #expect(listing.entries.isEmpty)
        await client.close()
        await server.stop()
        #expect(FileManager.default.fileExists(atPath: databasePath))
    }

    @Test func connectionLimitRefusesTheNextPeerWithAnError() async throws {
        let listener = try Listener(host: "127.0.0.1", port: 0, connectionsMax: 2, component: "test")
        // The limit counts peers past their handshake: these are, at once.
        await listener.start { connection in
            connection.handshakeFinished()
            _ = try? await connection.readFrame(timeout: .seconds(30))
        }
        var held: [Connection] = []
        for _ in 0..<2 { held.append(try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))) }
        try await eventually("two connections accepted") {
            let (all, handshaking) = (await listener.connectionCount, await listener.handshakingCount)
            return all == 2 && handshaking == 0
        }
        let third = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        let reply = try #require(try await third.readFrame(timeout: .seconds(15)))
        let error = try reply.decode(ErrorMessage.self).error
        #expect(error.code == .unavailable)
        await third.close()
        for connection in held { await connection.close() }
        await listener.close()
    }

    /// Connections in their handshake have limits of their own; a new one over the limit
    /// takes the place of the oldest, which is closed, and none of them counts against the
    /// limit of known peers.
    @Test func aNewConnectionReplacesTheOldestStillInItsHandshake() async throws {
        let listener = try Listener(
            host: "127.0.0.1", port: 0, connectionsMax: 1, component: "test", handshakingMax: 3, handshakingPerAddressMax: 2)
        await listener.start { connection in
            _ = try? await connection.readFrame(timeout: .seconds(30))
        }
        let oldest = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        try await eventually("the first connection is in its handshake") { await listener.handshakingCount == 1 }
        let second = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        try await eventually("the second connection is in its handshake") { await listener.handshakingCount == 2 }
        let third = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        try await eventually("the third took the oldest's place") { await listener.handshakingCount == 2 }
        // The oldest was closed by the server, without a reply; the others stay open.
        #expect(try await oldest.readFrame(timeout: .seconds(15)) == nil)
        #expect(!(await second.isStale()))
        #expect(!(await third.isStale()))
        for connection in [oldest, second, third] { await connection.close() }
        await listener.close()
    }
}
