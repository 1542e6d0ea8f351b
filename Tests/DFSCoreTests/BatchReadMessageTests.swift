import DFSCore
import Testing

/// The messages of batched small-file reads: `readBlocks` and its rows, and listings that
/// carry blocks.
@Suite struct BatchReadMessageTests {
    static func frame(_ type: String, _ body: String) -> Frame {
        Frame(type: type, header: Array(#"{"type":"\#(type)","body":\#(body)}"#.utf8), payload: [])
    }

    static func roundTrip<M: Message>(_ message: M) throws -> M {
        var decoder = FrameDecoder()
        decoder.append(try FrameEncoder.frame(message))
        return try #require(try decoder.nextFrame()).reply(M.self)
    }

    static func node(_ name: String, port: Int) -> NodeAddress {
        NodeAddress(nodeID: NodeID(name), address: Endpoint(host: "127.0.0.1", port: port))
    }

    @Test func readBlocksReplyRoundTripsServedAndFailedBlocks() throws {
        let reply = ReadBlocksOK(blocks: [
            .served(length: 100, checksums: [7]),
            .failed(DFSError(.notFound, "block 5 is not on this node")),
            .served(length: 70_000, checksums: [1, 2]),
            .served(length: 0, checksums: []),
            .failed(DFSError(.checksumMismatch, "corrupt")),
        ])
        let back = try Self.roundTrip(reply)
        #expect(back.blocks == reply.blocks)
        #expect(back.servedBytes == 70_100)
        let request = ReadBlocks(blocks: [BlockRead(blockID: BlockID(1), token: "t"), BlockRead(blockID: BlockID(2))])
        #expect(try Self.roundTrip(request).blocks == request.blocks)
    }

    @Test func readBlocksReplyWithRowsThatDisagreeIsRefused() {
        for body in [
            // A failure naming a served block, or no block at all.
            #"{"blocks":[[1,5]],"failures":[{"index":0,"error":{"code":"notFound","message":"x"}}]}"#,
            #"{"blocks":[[1,5]],"failures":[{"index":3,"error":{"code":"notFound","message":"x"}}]}"#,
            // A failed block without its error.
            #"{"blocks":[[]]}"#,
            // Checksums that do not match the pieces of the length.
            #"{"blocks":[[70000,1]]}"#,
            #"{"blocks":[[10,1,2]]}"#,
            // More than a payload's bytes, or a negative length.
            #"{"blocks":[[4194304,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64],[1,1]]}"#,
            #"{"blocks":[[-1]]}"#,
        ] {
            #expect(throws: DFSError.self, "\(body)") { try Self.frame("readBlocksOK", body).reply(ReadBlocksOK.self) }
        }
        let tooMany = Array(repeating: "[1,1]", count: Limits.blocksPerReadMax + 1).joined(separator: ",")
        #expect(throws: DFSError.self) { try Self.frame("readBlocksOK", #"{"blocks":[\#(tooMany)]}"#).reply(ReadBlocksOK.self) }
    }

    @Test func readBlocksNamesOneToTheLimitOfBlocks() throws {
        func error(_ count: Int) -> DFSError? {
            let blocks = Array(repeating: #"{"blockID":1}"#, count: count).joined(separator: ",")
            do {
                _ = try Self.frame("readBlocks", #"{"blocks":[\#(blocks)]}"#).decode(ReadBlocks.self)
                return nil
            } catch {
                return error
            }
        }
        #expect(error(0)?.code == .invalidArgument)
        #expect(error(1) == nil)
        #expect(error(Limits.blocksPerReadMax) == nil)
        #expect(error(Limits.blocksPerReadMax + 1)?.code == .tooLarge)
    }

    @Test func listingWithBlocksRoundTripsAndNamesEachNodeOnce() throws {
        let folder = FileInfo(path: try DFSPath("/docs"), type: .dir, size: 0, mtime: 1, replication: 0, blockBytes: 0)
        func file(_ name: String, _ size: Int) throws -> FileInfo {
            FileInfo(path: try DFSPath("/docs/\(name)"), type: .file, size: size, mtime: 2, replication: 2, blockBytes: 4096, crc32c: 9)
        }
        let (a, b, c) = (Self.node("node-a", port: 1), Self.node("node-b", port: 2), Self.node("node-c", port: 3))
        let sub = FileInfo(path: try DFSPath("/docs/sub"), type: .dir, size: 0, mtime: 1, replication: 0, blockBytes: 0)
        let entries = [try file("big", 9000), try file("empty", 0), sub, try file("small", 100), try file("tiny", 1)]
        let blocks: [[BlockLocation]?] = [
            nil, [], nil,
            [BlockLocation(blockID: BlockID(10), blockIndex: 0, length: 100, checksum: 77, replicas: [b, a], token: "10.read.1.mac")],
            [BlockLocation(blockID: BlockID(11), blockIndex: 0, length: 1, checksum: 78, replicas: [a, c])],
        ]
        let listing = ListOK(info: folder, entries: entries, more: true, blocks: blocks)
        let header = try FrameEncoder.frame(listing)
        let text = String(decoding: header, as: UTF8.self)
        #expect(text.components(separatedBy: "node-a").count == 2, "each node once: \(text)")
        let back = try Self.roundTrip(listing)
        #expect(back.entries == entries)
        #expect(back.blocks == blocks)
        // Without blocks, as before.
        #expect(try Self.roundTrip(ListOK(info: folder, entries: entries, more: false)).blocks == nil)
    }

    @Test func listingBlocksThatDoNotFitTheirEntryAreRefused() throws {
        let folder = #"{"path":"/docs","type":"dir","size":0,"mtime":1,"replication":0,"blockBytes":0}"#
        let nodes = #"[{"nodeID":"n1","address":{"host":"127.0.0.1","port":1}}]"#
        func listing(_ rows: String) -> Frame {
            Self.frame("listOK", #"{"info":\#(folder),"more":false,"nodes":\#(nodes),"entries":[\#(rows)]}"#)
        }
        #expect(try listing(#"["a","file",5,1,1,4096,null,null,null,[[10,5,1,[0],null]]]"#).reply(ListOK.self).blocks?.first??.first?.replicas.count == 1)
        for row in [
            // A node index outside the table.
            #"["a","file",5,1,1,4096,null,null,null,[[10,5,1,[1],null]]]"#,
            // Lengths that do not make up the file, two blocks, a folder with a block.
            #"["a","file",6,1,1,4096,null,null,null,[[10,5,1,[0],null]]]"#,
            #"["a","file",10,1,1,4096,null,null,null,[[10,5,1,[0],null],[11,5,1,[0],null]]]"#,
            #"["a","dir",0,1,0,0,null,null,null,[]]"#,
        ] {
            #expect(throws: DFSError.self, "\(row)") { try listing(row).reply(ListOK.self) }
        }
    }
}
