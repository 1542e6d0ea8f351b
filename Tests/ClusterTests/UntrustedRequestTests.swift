import DFSClient
import DFSCore
import DFSNet
import DFSProcess
import DFSTesting
import Foundation
import Testing

/// Requests a faulty or hostile peer could send, each pinned by the fault it once caused:
/// a block overwritten, a report that grew the meta server's tables, a bad value that cost
/// the connection.
@Suite struct UntrustedRequestTests {
    static func rawFrame(_ json: String, payload: [UInt8] = []) -> [UInt8] {
        let header = Array(json.utf8)
        let length = UInt32(header.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + header + payload
    }

    /// A `writeBlock` of a block the node has (a file, or one inside a pack) used to replace
    /// it; it is refused with `alreadyExists`, and the stored bytes stay as they were.
    @Test func writeBlockOfAStoredBlockIsRefusedAndTheBlockStays() async throws {
        try await withCluster(dataNodes: 1, configure: { $0.defaultReplication = 1 }) { cluster in
            let local = try TempFolder()
            defer { local.remove() }
            let original = try local.writeRandomFile("big", count: 100_000, seed: 5)
            _ = try local.writeRandomFile("small", count: 3000, seed: 6)
            try await cluster.client.upload(localPath: local.path("big"), to: try DFSPath("/big"), options: UploadOptions(blockBytes: 1 << 20))
            // A tree of small files goes in one writeBlocks: its blocks live in a pack.
            try FileManager.default.createDirectory(atPath: local.path("tree"), withIntermediateDirectories: true)
            for index in 0..<3 { _ = try local.writeRandomFile("tree/f\(index)", count: 100, seed: UInt64(index)) }
            _ = try await cluster.client.uploadTree(localFolder: local.path("tree"), to: try DFSPath("/tree"), options: UploadOptions(blockBytes: 1 << 20))
            let single = try #require(try await cluster.client.stat(try DFSPath("/big")).blocks.first)
            let packed = try #require(try await cluster.client.stat(try DFSPath("/tree/f0")).blocks.first)
            let node = try #require(cluster.dataServers[0])
            #expect(node.store.location(of: packed.blockID)?.path.contains("/packs/") == true)

            for block in [single, packed] {
                let connection = try await Connection.open(to: node.endpoint, role: .client, timeout: .seconds(20))
                // The request alone: data frames sent behind a refused request may reach a
                // closed socket, whose reset can overtake the reply.
                try await connection.send(WriteBlock(blockID: block.blockID, length: 10), timeout: .seconds(20))
                let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
                #expect(throws: DFSError.self) { try reply.reply(WriteBlockOK.self) }
                #expect((try? reply.decode(ErrorMessage.self))?.error.code == .alreadyExists)
                // The data frames behind the refused request cannot be read as requests.
                #expect(try await connection.readFrame(timeout: .seconds(15)) == nil)
                await connection.close()
                #expect(node.store.length(of: block.blockID) == block.length)
            }
            try await cluster.client.download(try DFSPath("/big"), to: local.path("out"), verify: true)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original)
            try await cluster.client.download(try DFSPath("/tree/f0"), to: local.path("out0"), verify: true)
        }
    }

    /// A block report under a node id that never registered used to be kept: its blocks
    /// became garbage rows for a node that does not exist, and its pages stayed in memory
    /// until a `last` one came. It is refused, and nothing of it is kept.
    @Test func blockReportFromAnUnregisteredNodeIsRefusedAndKeepsNothing() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let stranger = NodeID("stranger-1")
            let connection = try await Connection.open(to: cluster.metaEndpoint, role: .dataNode, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            let blocks = (1...100).map { BlockSummary(blockID: BlockID(UInt64(5_000_000 + $0)), length: 10, checksum: 0) }
            let result = try await connection.requestResult(
                BlockReport(nodeID: stranger, reportID: 7, blocks: blocks, last: false), expecting: OK.self, timeout: .seconds(20))
            guard case .failure(let error) = result else {
                Issue.record("a block report from an unregistered node was accepted")
                return
            }
            #expect(error.code == .notFound)
            #expect(error.message.contains("register"))
            #expect(try await cluster.meta.service.deferredGarbage(nodeID: stranger).isEmpty)
            // A heartbeat from it is told to register, and changes nothing either.
            let beat = try await connection.request(
                Heartbeat(nodeID: stranger, capacityBytes: 1 << 40, usedBytes: 0, blockCount: 1, added: blocks),
                expecting: HeartbeatOK.self, timeout: .seconds(20))
            #expect(beat.registerAgain)
            #expect(try await cluster.meta.service.deferredGarbage(nodeID: stranger).isEmpty)
            #expect(try await cluster.client.status().nodes.map(\.id) == [cluster.dataServers[0]!.store.nodeID])
        }
    }

    /// PROTOCOL.md promised `invalidPath` for an invalid path; the server answered
    /// `protocolError` and closed the connection. Now a value refused while decoding gets its
    /// own code, and the connection serves the next request.
    @Test func badValueGetsItsOwnCodeAndTheConnectionGoesOn() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let connection = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            let requests: [(String, DFSError.Code)] = [
                (#"{"type":"getFile","body":{"path":"/a/../etc"}}"#, .invalidPath),
                (#"{"type":"reportBadReplica","body":{"blockID":9223372036854775808,"nodeID":"n1","reason":"x"}}"#, .invalidArgument),
                (#"{"type":"allocateBlock","body":{"fileID":1,"blockIndex":-1,"excludeNodes":[]}}"#, .invalidArgument),
            ]
            for (json, code) in requests {
                try await connection.sendRaw(Self.rawFrame(json), timeout: .seconds(20))
                let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
                #expect(try reply.decode(ErrorMessage.self).error.code == code, "\(json)")
                // Still open, still in step.
                _ = try await connection.request(StatusRequest(), expecting: StatusOK.self, timeout: .seconds(20))
            }
            // A frame of the wrong shape still ends the connection.
            try await connection.sendRaw(Self.rawFrame(#"{"type":"getFile","body":{"path":5}}"#), timeout: .seconds(20))
            let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
            #expect(try reply.decode(ErrorMessage.self).error.code == .protocolError)
            #expect(try await connection.readFrame(timeout: .seconds(15)) == nil)
        }
    }

    /// `offset` was documented as optional but required; a read without one reads from the
    /// start. And a read whose range passes the largest `Int` is refused, not a crash.
    @Test func readBlockWithoutOffsetReadsFromTheStart() async throws {
        try await withCluster(dataNodes: 1, configure: { $0.defaultReplication = 1 }) { cluster in
            let local = try TempFolder()
            defer { local.remove() }
            let original = try local.writeRandomFile("in", count: 200_000, seed: 9)
            try await cluster.client.upload(localPath: local.path("in"), to: try DFSPath("/in"), options: UploadOptions(blockBytes: 1 << 20))
            let block = try #require(try await cluster.client.stat(try DFSPath("/in")).blocks.first)
            let node = try #require(cluster.dataServers[0]?.endpoint)
            let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            try await connection.sendRaw(
                Self.rawFrame(#"{"type":"readBlock","body":{"blockID":\#(block.blockID),"length":70000}}"#), timeout: .seconds(20))
            let (reply, _) = try await connection.readReply(ReadBlockOK.self, timeout: .seconds(15))
            #expect(reply.length == 70000 && reply.blockLength == original.count)
            var received: [UInt8] = []
            while received.count < reply.length {
                let (data, frame) = try await connection.readReply(BlockData.self, timeout: .seconds(15))
                try data.verify(frame.payload, what: "test read")
                received += frame.payload
            }
            #expect(received == Array(original.prefix(70000)))

            try await connection.sendRaw(
                Self.rawFrame(#"{"type":"readBlock","body":{"blockID":\#(block.blockID),"offset":65536,"length":9223372036854775807}}"#),
                timeout: .seconds(20))
            let refused = try #require(try await connection.readFrame(timeout: .seconds(15)))
            #expect(try refused.decode(ErrorMessage.self).error.code == .invalidArgument)
            // The connection is still in step.
            let again = try await connection.request(ReadBlock(blockID: block.blockID, offset: 131072), expecting: ReadBlockOK.self, timeout: .seconds(20))
            #expect(again.length == original.count - 131072)
        }
    }

    /// `readBlocks` asks a node for many blocks at once: a request naming none, too many or
    /// an id out of range gets its own error on a connection that goes on; one of the wrong
    /// shape ends the connection; a block the node lacks fails alone, and the others come.
    @Test func readBlocksRefusesBadBatchesAndFailsAMissingBlockAlone() async throws {
        try await withCluster(dataNodes: 1, configure: { $0.defaultReplication = 1 }) { cluster in
            let local = try TempFolder()
            defer { local.remove() }
            try FileManager.default.createDirectory(atPath: local.path("tree"), withIntermediateDirectories: true)
            let first = try local.writeRandomFile("tree/f0", count: 3000, seed: 21)
            let second = try local.writeRandomFile("tree/f1", count: 70_000, seed: 22)
            _ = try await cluster.client.uploadTree(localFolder: local.path("tree"), to: try DFSPath("/tree"), options: UploadOptions(blockBytes: 1 << 20))
            var blocks: [BlockLocation] = []
            for name in ["f0", "f1"] { blocks.append(try #require(try await cluster.client.stat(try DFSPath("/tree/\(name)")).blocks.first)) }
            let node = try #require(cluster.dataServers[0]?.endpoint)
            let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            let tooMany = Array(repeating: #"{"blockID":1}"#, count: Limits.blocksPerReadMax + 1).joined(separator: ",")
            let requests: [(String, DFSError.Code)] = [
                (#"{"type":"readBlocks","body":{"blocks":[]}}"#, .invalidArgument),
                (#"{"type":"readBlocks","body":{"blocks":[\#(tooMany)]}}"#, .tooLarge),
                (#"{"type":"readBlocks","body":{"blocks":[{"blockID":9223372036854775808}]}}"#, .invalidArgument),
            ]
            let missing = BlockID(987_654_321)
            for (json, code) in requests {
                try await connection.sendRaw(Self.rawFrame(json), timeout: .seconds(20))
                let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
                #expect(try reply.decode(ErrorMessage.self).error.code == code, "\(json.prefix(80))")
                // Still open, still in step: a batch with a block the node lacks in the middle.
                try await connection.send(
                    ReadBlocks(blocks: [BlockRead(blockID: blocks[0].blockID), BlockRead(blockID: missing), BlockRead(blockID: blocks[1].blockID)]),
                    timeout: .seconds(20))
                let (served, frame) = try await connection.readReply(ReadBlocksOK.self, timeout: .seconds(20))
                #expect(served.blocks.count == 3)
                guard served.blocks.count == 3, case .failed(let error) = served.blocks[1] else {
                    Issue.record("the missing block was not failed: \(served.blocks)")
                    return
                }
                #expect(error.code == .notFound)
                #expect(served.blocks[0] == .served(length: first.count, checksums: BlockData.checksums(of: first)))
                #expect(served.blocks[2] == .served(length: second.count, checksums: BlockData.checksums(of: second)))
                #expect(frame.payload == first + second)
            }
            // A frame of the wrong shape still ends the connection.
            try await connection.sendRaw(Self.rawFrame(#"{"type":"readBlocks","body":{"blocks":"all"}}"#), timeout: .seconds(20))
            let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
            #expect(try reply.decode(ErrorMessage.self).error.code == .protocolError)
            #expect(try await connection.readFrame(timeout: .seconds(15)) == nil)
        }
    }

    /// A `writeBlock` refused for a bad value (here a negative length) still closes the
    /// connection after its error reply: the block's data frames come right behind it.
    @Test func writeBlockRefusedWhileDecodingStillClosesTheConnection() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let node = try #require(cluster.dataServers[0]?.endpoint)
            let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            try await connection.sendRaw(
                Self.rawFrame(#"{"type":"writeBlock","body":{"blockID":4242,"length":-10,"pipeline":[]}}"#), timeout: .seconds(20))
            let reply = try #require(try await connection.readFrame(timeout: .seconds(15)))
            #expect(try reply.decode(ErrorMessage.self).error.code == .invalidArgument)
            #expect(try await connection.readFrame(timeout: .seconds(15)) == nil)
        }
    }

    /// A node id registered again at another address while its first registration is alive
    /// (two processes with one id, or a node that moved) went unnoticed. The meta server logs
    /// both addresses, and the record takes the new one.
    @Test func reRegistrationAtAnotherAddressIsLoggedAndTakesTheNewAddress() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        var environment = ProcessInfo.processInfo.environment
        environment["DFS_LOG"] = "warn"
        environment["DFS_PARENT_PID"] = String(getpid())
        let meta = try SpawnedProcess(
            DFSBinary.path, ["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db")],
            environment: environment, outputPath: local.path("out"), errorPath: local.path("err"))
        defer {
            kill(meta.processIdentifier, SIGKILL)
            meta.waitUntilExit()
        }
        var endpoint: Endpoint?
        try await eventually(timeout: .seconds(20), "the meta server listens") {
            let text = (try? String(contentsOfFile: local.path("out"), encoding: .utf8)) ?? ""
            endpoint = try ListeningLine.endpoint(in: text)
            return endpoint != nil
        }
        let metaEndpoint = try #require(endpoint)
        let connection = try await Connection.open(to: metaEndpoint, role: .dataNode, timeout: .seconds(20))
        defer { Task { await connection.close() } }
        let node = NodeID("moving-node")
        for port in [40001, 40002] {
            let reply = try await connection.request(
                RegisterNode(nodeID: node, host: "127.0.0.1", port: port, capacityBytes: 1 << 30, usedBytes: 0, blockCount: 0),
                expecting: RegisterNodeOK.self, timeout: .seconds(20))
            #expect(reply.address == Endpoint(host: "127.0.0.1", port: port))
        }
        let status = try await connection.request(StatusRequest(), expecting: StatusOK.self, timeout: .seconds(20))
        #expect(status.nodes.map(\.address) == [Endpoint(host: "127.0.0.1", port: 40002)])
        try await eventually(timeout: .seconds(10), "the meta server warned with both addresses") {
            let log = (try? String(contentsOfFile: local.path("err"), encoding: .utf8)) ?? ""
            return log.split(separator: "\n").contains { $0.contains("moving-node") && $0.contains("127.0.0.1:40001") && $0.contains("127.0.0.1:40002") }
        }
    }
}
