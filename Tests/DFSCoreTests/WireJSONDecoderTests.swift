import DFSCore
import Foundation
import Testing

/// The wire's JSON decoder against Foundation's on the same bytes: the same values from
/// valid JSON, a refusal of what JSON forbids, and errors that name the same fields.
@Suite struct WireJSONDecoderTests {
    private func ours<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try WireJSONDecoder.decode(T.self, from: Array(text.utf8))
    }

    private func foundations<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    @Test func validDocumentsGiveFoundationsValues() throws {
        for text in [
            #"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-0.5,"g":1e3,"h":18446744073709551615,"i":-9223372036854775808}"#,
            #"  [ 1 , 2.25 , "x" , { } , [ ] ]  "#, #""\u00e9\ud834\udd1e\n\t\"\\\/\b\f\r""#, #""é 𝄞 \u202e""#, "0", "-0", "1E-2",
            "123456789.123456789e-5", #"{"k":"v","k":"w"}"#, "\t\r\n null \n",
        ] {
            #expect(try ours(JSONValue.self, text) == foundations(JSONValue.self, text), "\(text)")
        }
    }

    @Test func whatJSONForbidsIsRefused() throws {
        let deep = String(repeating: "[", count: WireJSONDecoder.depthMax + 1) + String(repeating: "]", count: WireJSONDecoder.depthMax + 1)
        for text in [
            "", " ", "01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity", "tru", "nul", #"{"a" 1}"#, "{1:2}",
            #""unterminated"#, "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud834""#, #""\udd1e""#, #""\ud834\u0041""#, "[1] 2", "{}{}",
            "[", "]", "'a'", deep,
        ] {
            #expect(throws: DecodingError.self, "\(text.prefix(40))") { try ours(JSONValue.self, text) }
            #expect(throws: (any Error).self, "\(text.prefix(40))") { try foundations(JSONValue.self, text) }
        }
        // Foundation takes trailing commas; JSON does not, and neither does the wire.
        for text in ["[1,]", #"{"a":1,}"#, "[,]", "[1,,2]"] {
            #expect(throws: DecodingError.self, "\(text)") { try ours(JSONValue.self, text) }
        }
        // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong encoding.
        for bytes: [UInt8] in [[0x22, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xC0, 0xAF, 0x22]] {
            #expect(throws: DecodingError.self) { try WireJSONDecoder.decode(String.self, from: bytes) }
        }
        let nested = String(repeating: "[", count: WireJSONDecoder.depthMax) + String(repeating: "]", count: WireJSONDecoder.depthMax)
        #expect(throws: Never.self) { try ours(JSONValue.self, nested) }
    }

    @Test func integersAreExactAndRefuseWhatTheirTypeCannotHold() throws {
        #expect(try ours([Int64].self, "[9223372036854775807,-9223372036854775808,0,-0]") == [.max, .min, 0, 0])
        #expect(try ours([UInt64].self, "[18446744073709551615]") == [.max])
        #expect(try ours([Int].self, "[1.0,1e3]") == [1, 1000])
        for text in ["[9223372036854775808]", "[-9223372036854775809]", "[1.5]", "[1e400]", "[\"1\"]", "[true]"] {
            #expect(throws: DecodingError.self, "\(text)") { try ours([Int64].self, text) }
        }
        #expect(throws: DecodingError.self) { try ours([UInt32].self, "[4294967296]") }
        #expect(throws: DecodingError.self) { try ours([UInt8].self, "[-1]") }
        #expect(try ours([Double].self, "[0.1,-2.5e-3,1764500000.123456]") == [0.1, -2.5e-3, 1_764_500_000.123456])
    }

    private struct Inner: Decodable, Equatable {
        var count: Int
        var name: String?
    }

    private struct Outer: Decodable, Equatable {
        var inner: Inner
        var list: [Inner?]
    }

    @Test func errorsNameTheFieldsFoundationNames() throws {
        let cases = [
            #"{"list":[]}"#, #"{"inner":{"count":"x"},"list":[]}"#, #"{"inner":{"count":1},"list":[{"count":null}]}"#,
            #"{"inner":{"count":1},"list":[{"count":1,"name":7}]}"#, #"{"inner":[],"list":[]}"#,
        ]
        for text in cases {
            let mine = #expect(throws: DecodingError.self) { try ours(Outer.self, text) }
            let theirs = #expect(throws: DecodingError.self) { try foundations(Outer.self, text) }
            #expect(mine.map(Self.kindAndPath) == theirs.map(Self.kindAndPath), "\(text)")
        }
        #expect(
            try ours(Outer.self, #"{"list":[null,{"count":2}],"inner":{"count":1,"name":"a"}}"#)
                == Outer(inner: Inner(count: 1, name: "a"), list: [nil, Inner(count: 2)]))
    }

    private static func kindAndPath(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): "missing \(key.stringValue) at \(path(context))"
        case .typeMismatch(_, let context): "type at \(path(context))"
        case .valueNotFound(_, let context): "null at \(path(context))"
        case .dataCorrupted(let context): "corrupt at \(path(context))"
        @unknown default: "other"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    @Test func largeObjectsDecodeEveryKeyAndTheFirstOfTwinsWins() throws {
        var entries = (0..<2000).map { "\"k\($0)\":\($0)" }
        entries.append("\"k7\":-7")
        let decoded = try ours([String: Int].self, "{" + entries.joined(separator: ",") + "}")
        #expect(decoded.count == 2000)
        #expect(decoded["k1999"] == 1999)
        #expect(decoded["k7"] == 7)
        #expect(try ours([String: Int].self, #"{"a":1,"b":2,"a":3}"#) == ["a": 1, "b": 2])
        #expect(try foundations([String: Int].self, #"{"a":1,"b":2,"a":3}"#) == ["a": 1, "b": 2])
    }

    @Test func messagesRoundTripThroughBothCoders() throws {
        let file = FileInfo(
            path: try DFSPath("/docs/\"q\" \\ é.pdf"), type: .file, size: 1024, mtime: 1_764_500_000.123456, replication: 3, blockBytes: 4096,
            sha256: String(repeating: "ab", count: 32), crc32c: 0xFFFF_FFFF)
        let block = BlockLocation(
            blockID: BlockID(UInt64(1) << 62), blockIndex: 0, length: 1024, checksum: 0x8000_0001,
            replicas: [NodeAddress(nodeID: NodeID("n1"), address: Endpoint(host: "10.0.0.1", port: 6771))], token: "t")
        let folder = FileInfo(path: try DFSPath("/docs"), type: .dir, size: 0, mtime: 1_700_000_000, replication: 0, blockBytes: 0)
        let messages: [any Message] = [
            GetFileOK(info: file, blocks: [block]), ListOK(info: folder, entries: [file, file], more: true, blocks: [[block], nil]),
            ReadBlocksOK(blocks: [.served(length: 3, checksums: [1]), .failed(DFSError(.notFound, "gone"))]),
            ErrorMessage(DFSError(.invalidPath, "bad\n\u{1}")),
        ]
        for message in messages {
            let frame = try FrameEncoder.frame(message)
            var decoder = FrameDecoder()
            decoder.append(frame)
            let decoded = try #require(try decoder.nextFrame())
            #expect(try FrameEncoder.frame(Self.decode(decoded, as: message)) == frame)
        }
    }

    /// Decodes `frame` as the type of `message`.
    private static func decode<M: Message>(_ frame: Frame, as message: M) throws -> M {
        try frame.decode(M.self)
    }
}
