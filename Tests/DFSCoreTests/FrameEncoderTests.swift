import DFSCore
import Testing

@Suite struct FrameEncoderTests {
    /// The header text of an encoded frame, after its 4-byte length prefix.
    private func headerText(_ bytes: [UInt8], payloadBytes: Int = 0) -> String {
        String(decoding: bytes[4..<(bytes.count - payloadBytes)], as: UTF8.self)
    }

    private func announcedLength(_ bytes: [UInt8]) -> Int {
        bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    @Test func prefixIsBigEndianHeaderLength() throws {
        let bytes = try FrameEncoder.encode(OK())
        let header = #"{"type":"ok","body":{}}"#
        #expect(bytes == [0, 0, 0, UInt8(header.utf8.count)] + Array(header.utf8))
    }

    @Test func prefixCarriesLengthsAboveOneByte() throws {
        let after = String(repeating: "n", count: 70_000)
        let bytes = try FrameEncoder.encode(List(path: .root, after: after, limit: 10))
        let headerBytes = bytes.count - 4
        #expect(headerBytes > 65_536)
        #expect(announcedLength(bytes) == headerBytes)
        #expect(bytes[0] == 0)
        #expect(bytes[1] == UInt8(headerBytes >> 16))
        #expect(bytes[2] == UInt8(truncatingIfNeeded: headerBytes >> 8))
        #expect(bytes[3] == UInt8(truncatingIfNeeded: headerBytes))
    }

    @Test func headerHasTypeFirstAndUnescapedSlashes() throws {
        let bytes = try FrameEncoder.encode(GetFile(path: try DFSPath("docs/a.pdf")))
        #expect(headerText(bytes) == #"{"type":"getFile","body":{"path":"/docs/a.pdf"}}"#)
    }

    @Test func headerLeavesOutPayloadWhenThereIsNone() throws {
        let bytes = try FrameEncoder.encode(BlockData(), payloadBytes: 0)
        #expect(!headerText(bytes).contains("payload"))
    }

    @Test func headerAnnouncesPayloadWithoutCarryingIt() throws {
        let bytes = try FrameEncoder.encode(BlockData(), payloadBytes: 1234)
        #expect(headerText(bytes) == #"{"type":"blockData","payload":1234,"body":{"checksums":[]}}"#)
        #expect(announcedLength(bytes) == bytes.count - 4)
    }

    @Test func acceptsPayloadAtTheFrameLimit() throws {
        let bytes = try FrameEncoder.encode(BlockData(), payloadBytes: Limits.payloadBytesMax)
        #expect(headerText(bytes).contains("\"payload\":\(Limits.payloadBytesMax)"))
    }

    @Test func wholeFrameIsHeaderThenPayload() throws {
        let payload: [UInt8] = [0, 1, 2, 0xFF, 0xFE]
        let frame = try FrameEncoder.frame(BlockData(), payload: payload)
        let header = try FrameEncoder.encode(BlockData(), payloadBytes: payload.count)
        #expect(frame == header + payload)
        #expect(headerText(frame, payloadBytes: payload.count).contains("\"payload\":5"))
    }

    @Test func wholeFrameWithoutPayloadIsJustTheHeader() throws {
        #expect(try FrameEncoder.frame(OK()) == FrameEncoder.encode(OK()))
    }

    @Test func errorFrameCarriesCodeAsItsStableName() throws {
        let bytes = try FrameEncoder.encode(ErrorMessage(DFSError(.checksumMismatch, "block 7 is corrupt")))
        #expect(headerText(bytes) == #"{"type":"error","body":{"error":{"code":"checksumMismatch","message":"block 7 is corrupt"}}}"#)
    }

    @Test func identifiersEncodeAsPlainValues() throws {
        let bytes = try FrameEncoder.encode(WriteBlockOK(blockID: BlockID(42), length: 7, checksum: 9, stored: [NodeID("n1"), NodeID("n2")]))
        #expect(headerText(bytes) == #"{"type":"writeBlockOK","body":{"blockID":42,"length":7,"checksum":9,"stored":["n1","n2"],"failed":[]}}"#)
    }

    @Test func nilOptionalFieldsAreLeftOut() throws {
        let bytes = try FrameEncoder.encode(ReadBlock(blockID: BlockID(1), offset: 0, length: nil))
        #expect(headerText(bytes) == #"{"type":"readBlock","body":{"blockID":1,"offset":0}}"#)
    }

    @Test func typeIsTheMessageTypeName() throws {
        #expect(headerText(try FrameEncoder.encode(Hello(role: .client))).hasPrefix(#"{"type":"hello","#))
        #expect(headerText(try FrameEncoder.encode(HeartbeatOK(registerAgain: false, deleteBlocks: []))).hasPrefix(#"{"type":"heartbeatOK","#))
        #expect(headerText(try FrameEncoder.encode(AbandonFile(fileID: 1))).hasPrefix(#"{"type":"abandonFile","#))
    }

    @Test func acceptsHeaderExactlyAtLimitAndDecoderTakesIt() throws {
        let overhead = try FrameEncoder.encode(List(path: .root, after: "", limit: 1)).count - 4
        let after = String(repeating: "a", count: Limits.headerBytesMax - overhead)
        let bytes = try FrameEncoder.encode(List(path: .root, after: after, limit: 1))
        #expect(bytes.count - 4 == Limits.headerBytesMax)

        var decoder = FrameDecoder()
        decoder.append(bytes)
        let list = try #require(try decoder.nextFrame()).decode(List.self)
        #expect(list.after == after)
    }

    @Test func rejectsHeaderLongerThanLimit() throws {
        let overhead = try FrameEncoder.encode(List(path: .root, after: "", limit: 1)).count - 4
        let after = String(repeating: "a", count: Limits.headerBytesMax - overhead + 1)
        let error = #expect(throws: DFSError.self) { try FrameEncoder.encode(List(path: .root, after: after, limit: 1)) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("'list'") == true)
        #expect(error?.message.contains("\(Limits.headerBytesMax + 1)") == true)
    }
}
