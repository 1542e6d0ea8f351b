import DFSCore
import Foundation
import Testing

@Suite struct BlockIDTests {
    @Test(arguments: [
        (UInt64(0), "blk_0000000000000000"),
        (1, "blk_0000000000000001"),
        (0x1234, "blk_0000000000001234"),
        (0xDEAD_BEEF, "blk_00000000deadbeef"),
        (0x0123_4567_89AB_CDEF, "blk_0123456789abcdef"),
        (UInt64.max, "blk_ffffffffffffffff"),
    ])
    func fileNameIsPrefixAnd16LowercaseHexDigits(rawValue: UInt64, fileName: String) {
        #expect(BlockID(rawValue).fileName == fileName)
    }

    @Test func fileNamesHaveOneShapeAndSortLikeTheirIDs() {
        let ids = [UInt64(0), 9, 10, 15, 16, 255, 256, 1 << 32, 1 << 63, .max].map(BlockID.init(_:))
        let lowercaseHex = Set("0123456789abcdef")
        for id in ids {
            let name = id.fileName
            #expect(name.hasPrefix("blk_"), "\(name)")
            #expect(name.count == 20, "\(name)")
            #expect(name.dropFirst(4).allSatisfy(lowercaseHex.contains), "\(name)")
            #expect(UInt64(name.dropFirst(4), radix: 16) == id.rawValue, "\(name)")
        }
        // Fixed width, so that a folder listing is in id order.
        #expect(ids.map(\.fileName) == ids.map(\.fileName).sorted())
    }

    @Test func descriptionIsDecimal() {
        #expect(BlockID(0xFF).description == "255")
    }

    @Test func ordersByRawValue() {
        #expect(BlockID(1) < BlockID(2))
        #expect(!(BlockID(2) < BlockID(2)))
        #expect([BlockID(9), BlockID(1), BlockID(5)].sorted() == [BlockID(1), BlockID(5), BlockID(9)])
    }

    @Test func encodesAsAPlainNumber() throws {
        let data = try JSONEncoder().encode([BlockID(UInt64(Int64.max))])
        #expect(String(decoding: data, as: UTF8.self) == "[9223372036854775807]")
        #expect(try JSONDecoder().decode([BlockID].self, from: data) == [BlockID(UInt64(Int64.max))])
    }

    /// The meta server keeps ids in SQLite's signed 64-bit integers; converting a larger one
    /// trapped. Such an id is refused as a value when it is decoded.
    @Test(arguments: ["[9223372036854775808]", "[18446744073709551615]"])
    func rejectsIDAboveTheLargestTheDatabaseHolds(json: String) {
        #expect(throws: DFSError.self) { try JSONDecoder().decode([BlockID].self, from: Data(json.utf8)) }
    }

    @Test(arguments: [#"[-1]"#, #"["7"]"#, #"[1.5]"#])
    func rejectsIDThatIsNotAnUnsignedInteger(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([BlockID].self, from: Data(json.utf8)) }
    }

    // MARK: - NodeID

    @Test(arguments: ["node-1", "A", "abc-DEF-123", "-", String(repeating: "n", count: 64)])
    func nodeIDOfLettersDigitsAndDashesIsWellFormed(text: String) {
        #expect(NodeID(text).isWellFormed)
    }

    @Test(arguments: [
        "", String(repeating: "n", count: 65), "a_b", "a b", "a.b", "a/b", "../x", "é", "node\n", "a\u{0}",
        "ＡＢ",
    ])
    func nodeIDWithAnythingElseIsMalformed(text: String) {
        #expect(!NodeID(text).isWellFormed)
    }

    @Test func nodeIDEncodesAsAPlainString() throws {
        let data = try JSONEncoder().encode([NodeID("node-1")])
        #expect(String(decoding: data, as: UTF8.self) == #"["node-1"]"#)
        #expect(try JSONDecoder().decode([NodeID].self, from: data) == [NodeID("node-1")])
    }
}
