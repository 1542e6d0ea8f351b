import DFSCore
import Foundation
import Testing

/// The one-pass encoder against Foundation's: the same JSON values for every shape the wire
/// carries, escaping included, and Foundation's output whenever one pass cannot do.
@Suite struct WireJSONEncoderTests {
    /// Encodes `value` with both encoders and compares the parsed results.
    private func expectSameJSON<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var bytes: [UInt8] = []
        #expect(try WireJSONEncoder.encode(value, into: &bytes), sourceLocation: sourceLocation)
        let ours = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        let foundations = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(ours == foundations, "\(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    private func node(_ number: Int) -> NodeAddress {
        NodeAddress(nodeID: NodeID("node-\(number)"), address: Endpoint(host: "10.0.0.\(number)", port: 6771))
    }

    @Test func messagesComeOutAsFoundationWritesThem() throws {
        let file = FileInfo(
            path: try DFSPath("/docs/a \"quoted\" \\ name.pdf"), type: .file, size: 42, mtime: 1_764_500_000.123456, replication: 3,
            blockBytes: 4096, sha256: String(repeating: "ab", count: 32), crc32c: 0xFFFF_FFFF)
        let folder = FileInfo(path: try DFSPath("/docs"), type: .dir, size: 0, mtime: 1_700_000_000, replication: 0, blockBytes: 0)
        let block = BlockLocation(
            blockID: BlockID(UInt64(1) << 62), blockIndex: 0, length: 1024, checksum: 0x8000_0001, replicas: [node(1), node(2)], token: "t.1")
        try expectSameJSON(GetFileOK(info: file, blocks: [block, block]))
        try expectSameJSON(GetFileOK(info: folder, blocks: []))
        try expectSameJSON(ListOK(info: folder, entries: [file, folder], more: true))
        try expectSameJSON(ListOK(info: folder, entries: [file, file], more: false, blocks: [[block], nil]))
        try expectSameJSON(GetFile(path: try DFSPath("/a/b")))
        try expectSameJSON(List(path: .root, after: "x", limit: 10, stream: true, withBlocks: nil))
        try expectSameJSON(OK())
        try expectSameJSON(Hello(role: .client))
        try expectSameJSON(ErrorMessage(DFSError(.notFound, "no such file: /a\n\t\u{1}\u{1F}\u{7F}é𝄞")))
        try expectSameJSON(
            ReadBlocksOK(blocks: [.served(length: 3, checksums: [1, 2]), .failed(DFSError(.notFound, "gone")), .served(length: 0, checksums: [])]))
        try expectSameJSON(
            StatusOK(
                nodes: [
                    NodeStatus(
                        id: NodeID("n1"), address: Endpoint(host: "h", port: 1), alive: true, capacity: Int.max, used: -1, blocks: 0,
                        lastHeartbeatAge: 0.25, slow: true)
                ], totals: HealthTotals(files: 1, blocks: 2, bytes: 3, underReplicated: 0, missing: 0, corrupt: 0, suspectReplicas: 1)))
    }

    @Test func numbersKeepTheirValues() throws {
        for number in [0.0, -0.5, 0.1, 3.0, -3.0, 1e15, 1e300, 5e-324, 1_764_500_000.123456, Double(Int64.max)] {
            var bytes: [UInt8] = []
            #expect(try WireJSONEncoder.encode([number], into: &bytes))
            #expect(try JSONDecoder().decode([Double].self, from: Data(bytes)) == [number], "\(String(decoding: bytes, as: UTF8.self))")
        }
        for number in [0, 1, -1, Int.max, Int.min] {
            var bytes: [UInt8] = []
            #expect(try WireJSONEncoder.encode(number, into: &bytes))
            #expect(String(decoding: bytes, as: UTF8.self) == String(number))
        }
        var bytes: [UInt8] = []
        #expect(try WireJSONEncoder.encode([UInt64.max], into: &bytes))
        #expect(String(decoding: bytes, as: UTF8.self) == "[\(UInt64.max)]")
    }

    @Test func numbersJSONCannotHoldAreRefused() {
        for number in [Double.nan, .infinity, -.infinity] {
            var bytes: [UInt8] = []
            #expect(throws: (any Error).self) { try WireJSONEncoder.encode(["x": number], into: &bytes) }
        }
    }

    @Test func everyControlCharacterIsEscaped() throws {
        let text = String(decoding: (0..<0x80).map { UInt8($0) }, as: UTF8.self) + "\u{202E}é"
        var bytes: [UInt8] = []
        #expect(try WireJSONEncoder.encode(text, into: &bytes))
        #expect(!bytes.contains { $0 < 0x20 })
        #expect(try JSONDecoder().decode(String.self, from: Data(bytes)) == text)
        #expect(String(decoding: bytes, as: UTF8.self).contains("/"))
    }

    /// A type that writes to a container after its parent has moved on.
    private struct OutOfOrder: Encodable {
        enum Keys: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var inner = container.nestedUnkeyedContainer(forKey: .a)
            try container.encode(1, forKey: .b)
            try inner.encode(2)
        }
    }

    private struct WithData: Encodable {
        var bytes = Data([1, 2, 3])
    }

    @Test func whatOnePassCannotWriteIsLeftToFoundation() throws {
        var bytes: [UInt8] = [9, 9]
        #expect(try !WireJSONEncoder.encode(OutOfOrder(), into: &bytes))
        #expect(bytes == [9, 9])
        #expect(try !WireJSONEncoder.encode(WithData(), into: &bytes))
        #expect(bytes == [9, 9])
    }

    @Test func nestedContainersCloseWhenTheirParentMovesOn() throws {
        try expectSameJSON([["a": [1, 2], "b": []], [:]])
        try expectSameJSON(ReadBlocksOK(blocks: [.served(length: 1, checksums: [7]), .served(length: 2, checksums: [8, 9])]))
        try expectSameJSON(Optional<Int>.none)
        try expectSameJSON(["k": Optional<String>.none])
    }
}

/// The replies that write their JSON by hand against what `encode(to:)` gives: the same bytes,
/// byte for byte, for optional fields present and absent, escapes, and the largest numbers.
@Suite struct WireJSONWritableTests {
    private func expectSameBytes<T: WireJSONWritable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var generic: [UInt8] = []
        #expect(try WireJSONEncoder.encode(value, into: &generic), sourceLocation: sourceLocation)
        var json = WireJSONWriter(bytes: [])
        value.write(to: &json)
        #expect(
            String(decoding: json.bytes, as: UTF8.self) == String(decoding: generic, as: UTF8.self), sourceLocation: sourceLocation)
    }

    private let file = FileInfo(
        path: try! DFSPath("/docs/a \"quoted\" \\ name é𝄞.pdf"), type: .file, size: Int.max, mtime: 1_764_500_000.123456,
        replication: 3, blockBytes: 4096, sha256: String(repeating: "ab", count: 32), crc32c: 0xFFFF_FFFF)
    private let bare = FileInfo(path: try! DFSPath("/f"), type: .file, size: 0, mtime: 0, replication: 1, blockBytes: 1)
    private let folder = FileInfo(path: .root, type: .dir, size: 0, mtime: 1_700_000_000, replication: 0, blockBytes: 0)

    private func block(token: String?) -> BlockLocation {
        BlockLocation(
            blockID: BlockID(Limits.blockIDMax), blockIndex: 7, length: 1 << 26, checksum: 0x8000_0001,
            replicas: [
                NodeAddress(nodeID: NodeID("node-1"), address: Endpoint(host: "10.0.0.1", port: 6771)),
                NodeAddress(nodeID: NodeID("node-2"), address: Endpoint(host: "::1", port: 0)),
            ], token: token)
    }

    @Test func everyWritableTypeWritesWhatItsEncoderWrites() throws {
        try expectSameBytes(file)
        try expectSameBytes(bare)
        try expectSameBytes(folder)
        try expectSameBytes(Endpoint(host: "h\"ost", port: 65535))
        try expectSameBytes(block(token: "t.1"))
        try expectSameBytes(block(token: nil))
        try expectSameBytes(BlockLocation(blockID: BlockID(1), blockIndex: 0, length: 0, replicas: []))
        try expectSameBytes(GetFileOK(info: file, blocks: [block(token: "t"), block(token: nil)]))
        try expectSameBytes(GetFileOK(info: folder, blocks: []))
        try expectSameBytes(DFSError(.notFound, "no such file: /a\n\t é𝄞"))
        try expectSameBytes(DFSError(.unavailable, "busy", transient: true))
        try expectSameBytes(DFSError.notActive(active: Endpoint(host: "10.0.0.2", port: 8000)))
        try expectSameBytes(FoundFile(file: GetFileOK(info: bare, blocks: [block(token: nil)])))
        try expectSameBytes(FoundFile(error: DFSError(.invalidPath, "bad")))
        try expectSameBytes(FoundFile())
        try expectSameBytes(
            GetFilesOK(files: [FoundFile(file: GetFileOK(info: file, blocks: [])), FoundFile(error: DFSError(.notFound, "x"))]))
        try expectSameBytes(GetFilesOK(files: []))
    }

    /// A frame of a writable message reads back as the message it was made from.
    @Test func framesOfWritableMessagesDecode() throws {
        var file = self.file
        file.size = 42
        var block = block(token: "t")
        block.length = 42
        let message = GetFilesOK(files: [FoundFile(file: GetFileOK(info: file, blocks: [block])), FoundFile(error: DFSError(.notFound, "x"))])
        var decoder = FrameDecoder()
        decoder.append(try FrameEncoder.encode(message))
        let frame = try #require(try decoder.nextFrame())
        let decoded = try frame.decode(GetFilesOK.self)
        #expect(decoded.files.count == 2)
        #expect(decoded.files[0].file?.info == file)
        #expect(decoded.files[0].file?.blocks == [block])
        #expect(decoded.files[1].error?.code == .notFound)
    }
}
