import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// A hung peer is found by the lack of progress within the stall time; a slow but healthy
/// one, which sends progress frames, is waited for.
@Suite struct StallDetectionTests {
    /// A server that answers each `writeBlock` after `work`, sending progress every 100 ms
    /// for at most `progressLimit` meanwhile (none when nil).
    static func slowAcknowledger(work: Duration, progressLimit: Duration?) async throws -> Listener {
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "test")
        await listener.start { connection in
            await FrameServer.serve(connection, role: .dataNode, component: "test", timeouts: .standard) { frame, connection in
                let request = try frame.decode(WriteBlock.self)
                if let progressLimit {
                    try await connection.sendingProgress(
                        for: request.blockID, every: .milliseconds(100), limit: progressLimit, timeout: .seconds(5)
                    ) { try await Task.sleep(for: work) }
                } else {
                    try await Task.sleep(for: work)
                }
                try await connection.send(
                    WriteBlockOK(blockID: request.blockID, length: request.length, checksum: 0, stored: [NodeID("slow")]), timeout: .seconds(5))
            }
        }
        return listener
    }

    static func writeAndAwait(_ server: Listener, stall: Duration) async throws -> WriteBlockOK {
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        defer { Task { await connection.close() } }
        try await connection.send(WriteBlock(blockID: BlockID(7), length: 1), timeout: .seconds(5))
        return try await connection.readWriteBlockReply(BlockID(7), stall: stall, deadline: .now + .seconds(30))
    }

    @Test func progressFramesKeepASlowFlushFromCountingAsHung() async throws {
        let server = try await Self.slowAcknowledger(work: .milliseconds(1500), progressLimit: .seconds(10))
        defer { Task { await server.close() } }
        let reply = try await Self.writeAndAwait(server, stall: .milliseconds(500))
        #expect(reply.stored == [NodeID("slow")])
    }

    @Test func silenceForTheStallTimeIsATimeout() async throws {
        let server = try await Self.slowAcknowledger(work: .seconds(3), progressLimit: nil)
        defer { Task { await server.close() } }
        let started = ContinuousClock.now
        await #expect(throws: DFSError.self) { try await Self.writeAndAwait(server, stall: .milliseconds(500)) }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    /// A flush that never ends stops sending progress at its limit, so it is given up too.
    @Test func progressEndsAtItsLimit() async throws {
        let server = try await Self.slowAcknowledger(work: .seconds(4), progressLimit: .milliseconds(600))
        defer { Task { await server.close() } }
        let started = ContinuousClock.now
        await #expect(throws: DFSError.self) { try await Self.writeAndAwait(server, stall: .milliseconds(500)) }
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    /// A hung node accepts the connection and never answers hello: the pool gives up after
    /// the handshake time it is given (a data node's stall time), not its default 10 s.
    @Test func aHelloNeverAnsweredFailsWithinTheGivenHandshakeTime() async throws {
        let silent = try SilentListener()
        let pool = ConnectionPool(role: .client)
        let started = ContinuousClock.now
        await #expect(throws: DFSError.self) {
            try await pool.withConnection(to: silent.endpoint, handshake: .milliseconds(500)) { _ in }
        }
        // Well under the 10 s default; not much tighter, since resolving the address waits
        // for a thread of the blocking-I/O pool, which other tests' flushes may hold.
        #expect(ContinuousClock.now - started < .seconds(8))
    }

    /// A pipeline whose next node is hung before the first byte (it never answers hello):
    /// the first node stores the block, names the hung one in `failed`, and answers within
    /// a few seconds rather than after the 10 s handshake timeout.
    @Test func aPipelineNodeNamesAHungNextNodeWithinItsStallTime() async throws {
        let silent = try SilentListener()
        try await withCluster(dataNodes: 1) { cluster in
            let node = try #require(cluster.dataServers.first ?? nil)
            let ghost = NodeAddress(nodeID: NodeID("hung-node"), address: silent.endpoint)
            let bytes = [UInt8](repeating: 42, count: 100_000)
            let started = ContinuousClock.now
            let connection = try await Connection.open(to: node.endpoint, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            try await connection.send(WriteBlock(blockID: BlockID(4242), length: bytes.count, pipeline: [ghost]), timeout: .seconds(10))
            try await connection.send(BlockData(checksums: BlockData.checksums(of: bytes)), payload: bytes, timeout: .seconds(10))
            let reply = try await connection.readWriteBlockReply(BlockID(4242), stall: .seconds(10), deadline: .now + .seconds(30))
            #expect(reply.stored == [node.store.nodeID])
            #expect(reply.failed == [ghost.nodeID])
            #expect(reply.stalled == [ghost.nodeID], "a node that never answers is named as stalled")
            #expect(ContinuousClock.now - started < .seconds(8), "took \(ContinuousClock.now - started)")
        }
    }

    /// A next node that is down (its port refuses connections) is named failed but not
    /// stalled: the client leaves it out of that block's next try without shunning it (or
    /// reporting it slow) for the rest of its run, since a node that was restarted is fine.
    @Test func aPipelineNodeThatIsDownIsFailedButNotStalled() async throws {
        let refused = try ReservedPort()
        defer { refused.release() }
        try await withCluster(dataNodes: 1) { cluster in
            let node = try #require(cluster.dataServers.first ?? nil)
            let ghost = NodeAddress(nodeID: NodeID("down-node"), address: Endpoint(host: "127.0.0.1", port: refused.port))
            let bytes = [UInt8](repeating: 42, count: 100_000)
            let connection = try await Connection.open(to: node.endpoint, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            try await connection.send(WriteBlock(blockID: BlockID(4444), length: bytes.count, pipeline: [ghost]), timeout: .seconds(10))
            try await connection.send(BlockData(checksums: BlockData.checksums(of: bytes)), payload: bytes, timeout: .seconds(10))
            let reply = try await connection.readWriteBlockReply(BlockID(4444), stall: .seconds(10), deadline: .now + .seconds(30))
            #expect(reply.stored == [node.store.nodeID])
            #expect(reply.failed == [ghost.nodeID])
            #expect(reply.stalled == nil)
        }
    }

    /// A batch's next node that answers hello and then nothing more (a process stopped once
    /// it had taken the connection) is named failed within its stall time; it used to hold
    /// the batch for a whole request's 60 s.
    @Test func aBatchPipelineNodeNamesAHungNextNodeWithinItsStallTime() async throws {
        let hung = try Listener(host: "127.0.0.1", port: 0, component: "test")
        await hung.start { connection in
            await FrameServer.serve(connection, role: .dataNode, component: "test", timeouts: .standard) { _, _ in
                try await Task.sleep(for: .seconds(120))
            }
        }
        do {
            try await withCluster(dataNodes: 1) { cluster in
                let node = try #require(cluster.dataServers.first ?? nil)
                let ghost = NodeAddress(nodeID: NodeID("hung-node"), address: hung.endpoint)
                let bytes = [UInt8](repeating: 7, count: 1000)
                let blockID = BlockID(4343)
                let started = ContinuousClock.now
                let connection = try await Connection.open(to: node.endpoint, role: .client, timeout: .seconds(20))
                defer { Task { await connection.close() } }
                let request = WriteBlocks(
                    blocks: [BatchBlock(blockID: blockID, length: bytes.count, checksums: BlockData.checksums(of: bytes))], pipeline: [ghost])
                try await connection.send(request, payload: bytes, timeout: .seconds(10))
                let reply = try await connection.readReply(WriteBlocksOK.self, progressFor: blockID, stall: .seconds(10), deadline: .now + .seconds(90))
                #expect(reply.stored == [node.store.nodeID])
                #expect(reply.failed == [ghost.nodeID])
                #expect(reply.stalled == [ghost.nodeID])
                #expect(ContinuousClock.now - started < .seconds(8), "took \(ContinuousClock.now - started)")
            }
        } catch {
            await hung.close()
            throw error
        }
        await hung.close()
    }
}
