import DFSClient
import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// A JSON value written by hand, so that a test can put numbers no Swift integer holds
/// (2^63, 2^64 - 1) into a frame, and find every integer a body carries.
indirect enum RawJSON {
    case object([(String, RawJSON)])
    case array([RawJSON])
    case string(String)
    /// A number as its literal text.
    case number(String)
    case bool(Bool)

    static func int(_ value: Int) -> RawJSON { .number(String(value)) }

    var text: String {
        switch self {
        case .object(let fields):
            return "{" + fields.map { "\"\($0.0)\":\($0.1.text)" }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .string(let value): return "\"\(value)\""
        case .number(let literal): return literal
        case .bool(let value): return value ? "true" : "false"
        }
    }

    /// The path (keys and indexes) to every number, outermost first.
    var numberPaths: [[String]] {
        switch self {
        case .object(let fields): return fields.flatMap { key, value in value.numberPaths.map { [key] + $0 } }
        case .array(let items): return items.enumerated().flatMap { index, value in value.numberPaths.map { [String(index)] + $0 } }
        case .number: return [[]]
        case .string, .bool: return []
        }
    }

    /// This value with the number at `path` replaced by `literal`.
    func replacing(_ path: [String], with literal: String) -> RawJSON {
        guard let first = path.first else { return .number(literal) }
        let rest = Array(path.dropFirst())
        switch self {
        case .object(let fields): return .object(fields.map { $0.0 == first ? ($0.0, $0.1.replacing(rest, with: literal)) : $0 })
        case .array(let items):
            return .array(items.enumerated().map { index, item in String(index) == first ? item.replacing(rest, with: literal) : item })
        default: return self
        }
    }
}

/// Every message type the servers accept, with each integer field in turn set to 0, -1,
/// 2^63 - 1, 2^63 and 2^64 - 1, sent to a meta server and a data node running as processes of
/// their own: a trap is a process death the test sees. Every request gets a frame back (an
/// error for a value out of range; a reply where the value is valid), and both servers go
/// on serving.
@Suite struct WireBoundaryTests {
    static let boundaries = ["0", "-1", "9223372036854775807", "9223372036854775808", "18446744073709551615"]

    /// A meta server and one data node, each its own process, with a file already stored.
    struct LiveCluster {
        let local: TempFolder
        let meta: ServerProcess
        let node: ServerProcess
        let client: DFSClient
        let nodeID: NodeID
        let block: BlockLocation

        /// Runs `body` with a live cluster, stopped and removed on every path.
        static func with(
            meta metaArguments: [String] = [], node nodeArguments: [String] = [], _ body: (LiveCluster) async throws -> Void
        ) async throws {
            let cluster = try await start(meta: metaArguments, node: nodeArguments)
            do {
                try await body(cluster)
            } catch {
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }

        static func start(meta metaArguments: [String], node nodeArguments: [String]) async throws -> LiveCluster {
            let local = try TempFolder()
            let meta = try await ServerProcess(
                [
                    "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms",
                ] + metaArguments)
            let node = try await ServerProcess(
                [
                    "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data"),
                ] + nodeArguments)
            _ = try local.writeRandomFile("in", count: 300_000, seed: 13)
            try await eventually(timeout: .seconds(20), "the node registered and an upload works") {
                try await DFSBinary.run(["cp", "--replication", "1", local.path("in"), "\(meta.endpoint):/stored"]).status == 0
            }
            let client = DFSClient(meta: meta.endpoint)
            let nodeID = try #require(try await client.status().nodes.first?.id)
            let block = try #require(try await client.stat(try DFSPath("/stored")).blocks.first)
            return LiveCluster(local: local, meta: meta, node: node, client: client, nodeID: nodeID, block: block)
        }

        func stop() async {
            await client.close()
            meta.kill()
            node.kill()
            local.remove()
        }

        /// Both processes run, answer `status`, and a file goes in and comes back intact.
        func checkStillServing(_ context: String) async throws {
            #expect(meta.process.isRunning, "the meta server died: \(context)")
            #expect(node.process.isRunning, "the data node died: \(context)")
            guard meta.process.isRunning, node.process.isRunning else { return }
            let status = try await client.status()
            #expect(status.nodes.contains { $0.id == nodeID && $0.alive }, "\(context)")
            let original = try local.writeRandomFile("again", count: 200_000, seed: 14)
            let upload = try await DFSBinary.run(["cp", "--replication", "1", local.path("again"), "\(meta.endpoint):/again"])
            #expect(upload.status == 0, "\(context): \(upload.standardError)")
            let download = try await DFSBinary.run(["cp", "\(meta.endpoint):/again", local.path("back")])
            #expect(download.status == 0, "\(context): \(download.standardError)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == original, "\(context)")
        }
    }

    static func frame(type: String, body: RawJSON, payload: [UInt8] = []) -> [UInt8] {
        let payloadField = payload.isEmpty ? "" : "\"payload\":\(payload.count),"
        let header = Array("{\"type\":\"\(type)\",\(payloadField)\"body\":\(body.text)}".utf8)
        let length = UInt32(header.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + header + payload
    }

    static func address(_ nodeID: String, port: Int) -> RawJSON {
        .object([("nodeID", .string(nodeID)), ("address", .object([("host", .string("127.0.0.1")), ("port", .int(port))]))])
    }

    static func summary(_ blockID: Int, length: Int) -> RawJSON {
        .object([("blockID", .int(blockID)), ("length", .int(length)), ("checksum", .int(0))])
    }

    /// A valid body for each request the meta server serves. `stranger` is a node id that
    /// registers with no room (placement never picks it); `fileID` a pending file.
    static func metaTemplates(realBlock: BlockLocation, fileID: Int64, realNode: NodeID) -> [(MessageType, RawJSON)] {
        let stranger = RawJSON.string("stranger-node")
        let committed = RawJSON.object([
            ("blockID", .int(Int(realBlock.blockID.rawValue))), ("blockIndex", .int(0)), ("length", .int(1)),
            ("checksum", .int(0)), ("nodes", .array([.string(realNode.rawValue)])),
        ])
        let complete = RawJSON.object([("fileID", .number(String(fileID))), ("size", .int(1)), ("blocks", .array([committed]))])
        return [
            (
                .registerNode,
                .object([
                    ("nodeID", stranger), ("host", .string("127.0.0.1")), ("port", .int(1)), ("capacityBytes", .int(0)),
                    ("usedBytes", .int(0)), ("blockCount", .int(0)),
                ])
            ),
            (
                .heartbeat,
                .object([
                    ("nodeID", stranger), ("capacityBytes", .int(0)), ("usedBytes", .int(0)), ("blockCount", .int(1)),
                    ("copiesInFlight", .int(0)), ("added", .array([summary(4_000_001, length: 10)])),
                    ("deleted", .array([.int(4_000_002)])), ("corrupt", .array([.int(4_000_003)])),
                    ("verified", .array([summary(4_000_006, length: 10)])), ("bytesWritten", .int(0)), ("bytesRead", .int(0)),
                ])
            ),
            (
                .blockReport,
                .object([
                    ("nodeID", stranger), ("reportID", .int(5)), ("blocks", .array([summary(4_000_004, length: 10)])), ("last", .bool(false)),
                ])
            ),
            (.nodeLeaving, .object([("nodeID", stranger)])),
            (
                .createFile,
                .object([
                    ("path", .string("/sweep/created")), ("replication", .int(1)), ("blockBytes", .int(65536)),
                    ("overwrite", .bool(true)), ("allocateFirstBlock", .bool(true)),
                ])
            ),
            (.allocateBlock, .object([("fileID", .number(String(fileID))), ("blockIndex", .int(1)), ("excludeNodes", .array([]))])),
            (.completeFile, complete),
            (
                .createFiles,
                .object([
                    ("files", .array([.object([("path", .string("/sweep/batched")), ("size", .int(10))])])),
                    ("replication", .int(1)), ("blockBytes", .int(65536)), ("overwrite", .bool(true)),
                ])
            ),
            (.completeFiles, .object([("files", .array([complete]))])),
            (.reportBadReplica, .object([("blockID", .int(4_000_005)), ("nodeID", stranger), ("reason", .string("sweep"))])),
            (.reportSlowNode, .object([("nodeID", stranger), ("reason", .string("sweep"))])),
            (.renewLeases, .object([("fileIDs", .array([.number(String(fileID)), .int(4_000_007)]))])),
            (.status, .object([])),
            (.fsck, .object([("path", .string("/"))])),
            (.getFile, .object([("path", .string("/stored"))])),
            (.getFiles, .object([("paths", .array([.string("/stored"), .string("/missing"), .string("/")]))])),
            (.list, .object([("path", .string("/")), ("after", .string("a")), ("limit", .int(10)), ("withBlocks", .bool(true))])),
            (.makeDirectory, .object([("path", .string("/sweep/folder"))])),
            (.move, .object([("source", .string("/sweep/nothing")), ("target", .string("/sweep/elsewhere"))])),
            (.remove, .object([("path", .string("/sweep/nothing")), ("recursive", .bool(false))])),
            (
                .setAttributes,
                .object([("path", .string("/sweep/folder")), ("mode", .int(0o755)), ("uid", .int(1000)), ("gid", .int(1000)), ("mtime", .int(5))])
            ),
            (.makeLink, .object([("path", .string("/sweep/link")), ("target", .string("folder")), ("overwrite", .bool(true))])),
            (.backup, .object([])),
            // Last: it drops the pending file the others use.
            (.abandonFile, .object([("fileID", .number(String(fileID)))])),
        ]
    }

    /// A valid body (and payload) for each request a data node serves. `refusedPort` is a
    /// loopback port nobody listens on, so a pipeline fails fast.
    static func dataTemplates(realBlock: BlockLocation, refusedPort: Int) -> [(MessageType, RawJSON, [UInt8])] {
        let bytes: [UInt8] = [1, 2, 3, 4]
        let checksum = Int(BlockData.checksums(of: bytes)[0])
        return [
            (
                .writeBlock,
                .object([
                    ("blockID", .int(6_000_001)), ("length", .int(bytes.count)), ("pipeline", .array([address("next-node", port: refusedPort)])),
                ]), []
            ),
            (
                .readBlock,
                .object([
                    ("blockID", .int(Int(realBlock.blockID.rawValue))), ("offset", .int(65536)), ("length", .int(1000)),
                ]), []
            ),
            (
                .writeBlocks,
                .object([
                    (
                        "blocks",
                        .array([
                            .object([
                                ("blockID", .int(6_000_002)), ("length", .int(bytes.count)), ("checksums", .array([.int(checksum)])),
                            ])
                        ])
                    ),
                    ("pipeline", .array([address("next-node", port: refusedPort)])),
                ]), bytes
            ),
            (
                .readBlocks,
                .object([
                    (
                        "blocks",
                        .array([
                            .object([("blockID", .int(Int(realBlock.blockID.rawValue)))]), .object([("blockID", .int(6_000_003))]),
                        ])
                    )
                ]), []
            ),
        ]
    }

    /// Sends one request on a fresh connection and returns the first frame back; nil when the
    /// server closed without one. A `writeBlock` the node does not refuse at once gets its
    /// data (4 bytes), as a client sends it. (Data sent right behind a request that is then
    /// refused would reach a closed socket, whose reset can overtake the reply.)
    static func exchange(_ endpoint: Endpoint, type: MessageType, body: RawJSON, payload: [UInt8]) async throws -> Frame? {
        let connection = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
        defer { Task { await connection.close() } }
        try await connection.sendRaw(frame(type: type.rawValue, body: body, payload: payload), timeout: .seconds(20))
        do {
            if type == .writeBlock {
                do {
                    return try await connection.readFrame(timeout: .milliseconds(1500))
                } catch let error as DFSError where error.code == .timeout {
                    let data: [UInt8] = [1, 2, 3, 4]
                    try? await connection.send(BlockData(checksums: BlockData.checksums(of: data)), payload: data, timeout: .seconds(20))
                }
            }
            return try await connection.readFrame(timeout: .seconds(20))
        } catch let error as DFSError where error.code == .connectionFailed {
            return nil
        }
    }

    @Test func everyMessageTypeWithBoundaryIntegersGetsAFrameAndServersStayUp() async throws {
        try await LiveCluster.with { cluster in try await sweep(cluster) }
    }

    private func sweep(_ cluster: LiveCluster) async throws {
        let refused = try ReservedPort()
        defer { refused.release() }
        let started = ContinuousClock.now
        // A pending file for the requests that name one.
        let pending = try await Self.request(
            CreateFile(path: try DFSPath("/sweep/pending"), replication: 1, blockBytes: 65536, overwrite: true),
            to: cluster.meta.endpoint, expecting: CreateFileOK.self)
        let meta = Self.metaTemplates(realBlock: cluster.block, fileID: pending.fileID, realNode: cluster.nodeID)
        let data = Self.dataTemplates(realBlock: cluster.block, refusedPort: refused.port)
        let targets: [(Endpoint, MessageType, RawJSON, [UInt8])] =
            meta.map { (cluster.meta.endpoint, $0.0, $0.1, []) } + data.map { (cluster.node.endpoint, $0.0, $0.1, $0.2) }

        // Every message type is either swept here or refused as a request by both servers, so
        // a type added later without a template fails this test.
        let served = Set(targets.map(\.1))
        let unserved = MessageType.allCases.filter { !served.contains($0) }
        #expect(
            served.isSuperset(of: [
                .registerNode, .heartbeat, .nodeLeaving, .createFile, .allocateBlock, .completeFile, .createFiles,
                .completeFiles, .abandonFile, .reportBadReplica, .blockReport, .status, .fsck, .getFile, .list,
                .makeDirectory, .move, .remove, .writeBlock, .readBlock, .writeBlocks, .reportSlowNode, .renewLeases,
                .readBlocks, .getFiles, .backup, .setAttributes, .makeLink,
            ]))
        #expect(
            Set(unserved) == [
                .hello, .helloOK, .error, .ok, .registerNodeOK, .heartbeatOK, .createFileOK, .allocateBlockOK,
                .completeFileOK, .getFileOK, .listOK, .createFilesOK, .completeFilesOK, .statusOK, .fsckOK,
                .writeBlockOK, .readBlockOK, .blockData, .writeBlocksOK, .writeBlockProgress, .renewLeasesOK,
                .readBlocksOK, .getFilesOK, .backupOK, .backupData,
            ],
            "a message type without a template: add one to this test")

        var sent = 0
        for (endpoint, type, template, payload) in targets {
            var variants: [(String, RawJSON)] = [("as is", template)]
            for path in template.numberPaths {
                for value in Self.boundaries {
                    variants.append(("\(path.joined(separator: ".")) = \(value)", template.replacing(path, with: value)))
                }
            }
            for (what, body) in variants {
                let context = "\(type.rawValue) with \(what)"
                let reply = try await Self.exchange(endpoint, type: type, body: body, payload: payload)
                #expect(reply != nil, "no answer to \(context)")
                if let reply, reply.type == MessageType.error.rawValue {
                    let error = try reply.decode(ErrorMessage.self).error
                    #expect(error.code != .internalError && error.code != .ioError, "\(context): \(error.message)")
                }
                sent += 1
                guard cluster.meta.process.isRunning, cluster.node.process.isRunning else {
                    Issue.record("a server died after \(context)")
                    return
                }
            }
        }
        // Replies and other frames no server serves as a request, with a body of numbers.
        for type in unserved where type != .hello {
            for endpoint in [cluster.meta.endpoint, cluster.node.endpoint] {
                let body = RawJSON.object([("blockID", .number("18446744073709551615")), ("length", .int(-1))])
                let reply = try await Self.exchange(endpoint, type: type, body: body, payload: [])
                #expect(reply?.type == MessageType.error.rawValue, "\(type.rawValue) at \(endpoint)")
                sent += 1
            }
        }
        // The first frame of a connection, `hello`, with each boundary as its version.
        for endpoint in [cluster.meta.endpoint, cluster.node.endpoint] {
            for value in Self.boundaries {
                let connection = try await Connection.connect(to: endpoint, timeout: .seconds(20))
                let hello = RawJSON.object([("protocolVersion", .number(value)), ("role", .string("client")), ("software", .string("dfs"))])
                try await connection.sendRaw(Self.frame(type: "hello", body: hello), timeout: .seconds(20))
                let reply = (try? await connection.readFrame(timeout: .seconds(20))) ?? nil
                #expect(reply?.type == MessageType.error.rawValue, "hello with protocolVersion \(value) at \(endpoint)")
                await connection.close()
                sent += 1
            }
        }
        #expect(sent > 250, "only \(sent) requests were sent")
        #expect(ContinuousClock.now - started < .seconds(120), "the sweep took \(ContinuousClock.now - started)")
        try await cluster.checkStillServing("after \(sent) requests with boundary values")
    }

    /// A heartbeat with room the node cannot have (capacity 0, used Int.max) and more
    /// changes than a heartbeat may carry used to update the node's record before the size
    /// check threw, leaving the node's reservation in place; the next placement computed
    /// capacity - used - reserved and trapped. Now the whole heartbeat is refused at
    /// decoding, the record stays as it was, and placement goes on.
    @Test func outOfRangeHeartbeatLeavesTheNodeRecordAndPlacementAlone() async throws {
        // The node's own heartbeats, which would repair a bad record and clear the
        // reservation, come rarely here.
        try await LiveCluster.with(meta: ["--dead-after", "120s"], node: ["--heartbeat", "30s"]) { cluster in
            // Room reserved on the node, so that a bad record would overflow the placement.
            let reserved = try await Self.request(
                CreateFile(path: try DFSPath("/reserve"), replication: 1, blockBytes: 1 << 20, overwrite: true, allocateFirstBlock: true),
                to: cluster.meta.endpoint, expecting: CreateFileOK.self)
            #expect(reserved.firstBlock != nil)
            let deleted = (1...(3 * Heartbeat.changesMax + 1)).map { RawJSON.int(7_000_000 + $0) }
            let heartbeat = RawJSON.object([
                ("nodeID", .string(cluster.nodeID.rawValue)), ("capacityBytes", .int(0)), ("usedBytes", .int(Int.max)),
                ("blockCount", .int(1)), ("copiesInFlight", .int(0)), ("added", .array([])), ("deleted", .array(deleted)),
                ("corrupt", .array([])),
            ])
            let reply = try #require(try await Self.exchange(cluster.meta.endpoint, type: .heartbeat, body: heartbeat, payload: []))
            let error = try reply.decode(ErrorMessage.self).error
            #expect(error.code == .invalidArgument || error.code == .tooLarge, "\(error)")
            // Placement at once, before the node's next heartbeat could repair the record.
            let placed = try await Self.request(
                CreateFile(path: try DFSPath("/placed"), replication: 1, blockBytes: 1 << 20, overwrite: true, allocateFirstBlock: true),
                to: cluster.meta.endpoint, expecting: CreateFileOK.self)
            #expect(placed.firstBlock?.targets.map(\.nodeID) == [cluster.nodeID])
            #expect(cluster.meta.process.isRunning, "the meta server died")
            let node = try #require(try await cluster.client.status().nodes.first { $0.id == cluster.nodeID })
            #expect(node.capacity > 0 && node.used <= node.capacity, "\(node)")
            try await cluster.checkStillServing("after an out-of-range heartbeat")
        }
    }

    /// One request on a connection of its own; an error reply is thrown.
    static func request<Request: Message, Reply: Message>(_ request: Request, to endpoint: Endpoint, expecting: Reply.Type) async throws -> Reply {
        let connection = try await Connection.open(to: endpoint, role: .client, timeout: .seconds(20))
        defer { Task { await connection.close() } }
        return try await connection.request(request, expecting: Reply.self, timeout: .seconds(20))
    }
}
