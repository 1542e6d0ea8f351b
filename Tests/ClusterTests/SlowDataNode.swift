import DFSCore
import DFSNet
import DFSTesting
import Foundation

/// A data node the test paces: it receives a block (`writeBlock`) or a batch
/// (`writeBlocks`), checks every piece, then asks `gate` what to answer: nil to acknowledge
/// (the block counts as stored here, though nothing is kept), or an error to refuse it. A
/// gate that waits makes a write as slow as the test wants, without a real node's timeouts.
///
/// It registers with the meta server and heartbeats every 100 ms (registering again when a
/// restarted meta server asks), so placement picks it.
final class SlowDataNode: Sendable {
    let nodeID: NodeID
    private let listener: Listener
    private let heartbeats: Task<Void, Never>
    /// Blocks received so far, whatever the gate said.
    let received = Mutex<[BlockID]>([])

    var endpoint: Endpoint { listener.endpoint }

    private init(nodeID: NodeID, listener: Listener, heartbeats: Task<Void, Never>) {
        self.nodeID = nodeID
        self.listener = listener
        self.heartbeats = heartbeats
    }

    static func start(meta: Endpoint, gate: @escaping @Sendable ([BlockID]) async -> DFSError?) async throws -> SlowDataNode {
        let nodeID = NodeID("slow-\(UInt32.random(in: 0...UInt32.max))")
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "slow-node")
        let port = listener.endpoint.port
        let heartbeats = Task {
            let pool = ConnectionPool(role: .dataNode)
            var registered = false
            while !Task.isCancelled {
                do {
                    if !registered {
                        _ = try await pool.request(
                            RegisterNode(nodeID: nodeID, host: "127.0.0.1", port: port, capacityBytes: 1 << 40, usedBytes: 0, blockCount: 0),
                            to: meta, expecting: RegisterNodeOK.self)
                        registered = true
                    }
                    let reply = try await pool.request(
                        Heartbeat(nodeID: nodeID, capacityBytes: 1 << 40, usedBytes: 0, blockCount: 0), to: meta, expecting: HeartbeatOK.self)
                    if reply.registerAgain { registered = false }
                } catch {
                    registered = false
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            await pool.closeAll()
        }
        let node = SlowDataNode(nodeID: nodeID, listener: listener, heartbeats: heartbeats)
        await listener.start { connection in
            await FrameServer.serve(connection, role: .dataNode, component: "slow-node", timeouts: .standard) { frame, connection in
                try await node.serve(frame, on: connection, gate: gate)
            }
        }
        try await eventually("the slow node is registered") {
            let connection = try await Connection.open(to: meta, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            let status = try await connection.request(StatusRequest(), expecting: StatusOK.self, timeout: .seconds(20))
            return status.nodes.contains { $0.id == nodeID && $0.alive }
        }
        return node
    }

    private func serve(_ frame: Frame, on connection: Connection, gate: @Sendable ([BlockID]) async -> DFSError?) async throws {
        switch MessageType(rawValue: frame.type) {
        case .writeBlock:
            let request = try frame.decode(WriteBlock.self)
            var checksum = CRC32C()
            var arrived = 0
            while arrived < request.length {
                guard let data = try await connection.readFrame(timeout: .seconds(60)) else {
                    throw DFSError(.connectionFailed, "the writer left mid-block")
                }
                let pieces = try data.decode(BlockData.self)
                checksum.append(checksum: try pieces.verify(data.payload, what: "block \(request.blockID)"), length: data.payload.count)
                arrived += data.payload.count
            }
            received.withLock { $0.append(request.blockID) }
            // Slow, not hung: while the gate holds the block, the node says it is alive as a
            // real node does while it flushes.
            let refusal = try await connection.sendingProgress(
                for: request.blockID, every: .seconds(1), limit: .seconds(60), timeout: .seconds(60)
            ) { await gate([request.blockID]) }
            if let refusal { throw refusal }
            try await connection.send(
                WriteBlockOK(blockID: request.blockID, length: request.length, checksum: checksum.value, stored: [nodeID]),
                timeout: .seconds(60))
        case .writeBlocks:
            let request = try frame.decode(WriteBlocks.self)
            var checksums: [UInt32] = []
            var offset = 0
            for block in request.blocks {
                guard block.length >= 0, offset + block.length <= frame.payload.count else {
                    throw DFSError(.invalidArgument, "the batch's lengths do not add up")
                }
                checksums.append(CRC32C.checksum(Array(frame.payload[offset..<offset + block.length])))
                offset += block.length
            }
            received.withLock { $0 += request.blocks.map(\.blockID) }
            if let refusal = await gate(request.blocks.map(\.blockID)) { throw refusal }
            try await connection.send(WriteBlocksOK(checksums: checksums, stored: [nodeID]), timeout: .seconds(60))
        default:
            throw DFSError(.protocolError, "a slow test node serves only writes, not '\(frame.type)'")
        }
    }

    func stop() async {
        heartbeats.cancel()
        await heartbeats.value
        await listener.close()
    }
}

/// A door tasks wait at until the test opens it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.open { return true }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
