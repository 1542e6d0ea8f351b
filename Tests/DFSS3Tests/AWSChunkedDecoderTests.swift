import Crypto
import Foundation
import Testing

@testable import DFSS3

@Suite struct AWSChunkedDecoderTests {
    typealias Example = SigV4Example
    static let data = [UInt8](repeating: UInt8(ascii: "a"), count: 66560)

    static func exampleDecoder() -> AWSChunkedDecoder {
        AWSChunkedDecoder(signing: Example.chunkSigning, trailerChecksum: nil, decodedLength: 66560)
    }

    static func trailerDecoder() -> AWSChunkedDecoder {
        AWSChunkedDecoder(signing: Example.trailerChunkSigning, trailerChecksum: .crc32c, decodedLength: 66560)
    }

    /// Feeds `body` in pieces of the given sizes (the rest in one piece) and finishes.
    static func decode(_ decoder: inout AWSChunkedDecoder, _ body: [UInt8], pieces: [Int]) throws(S3ChunkError) -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        for size in pieces where offset < body.count {
            let end = min(body.count, offset + size)
            output += try decoder.feed(body[offset..<end])
            offset = end
        }
        output += try decoder.feed(body[offset...])
        try decoder.finish()
        return output
    }

    /// A seed from DFS_TEST_SEED when set, else a fixed one; printed so a failure can be rerun.
    static func seed() -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["DFS_TEST_SEED"].flatMap { UInt64($0) } ?? 0x5347_5634
        print("AWSChunkedDecoderTests seed \(seed) (set DFS_TEST_SEED to rerun)")
        return seed
    }

    @Test func verifiesTheDocumentedSignedUploadInOnePiece() throws {
        var decoder = Self.exampleDecoder()
        let output = try Self.decode(&decoder, Example.chunkedBody, pieces: [])
        #expect(output == Self.data)
        #expect(decoder.isComplete)
        #expect(Example.chunkedBody.count == 66824)
    }

    @Test func verifiesTheDocumentedSignedUploadFedOneByteAtATime() throws {
        var decoder = Self.exampleDecoder()
        var output: [UInt8] = []
        for byte in Example.chunkedBody {
            #expect(!decoder.isComplete)
            output += try decoder.feed([byte])
        }
        try decoder.finish()
        #expect(output == Self.data)
        #expect(decoder.isComplete)
    }

    @Test func verifiesTheDocumentedUploadsInRandomSplits() throws {
        var generator = SeededGenerator(seed: Self.seed())
        for round in 0..<40 {
            let pieces = (0..<50).map { _ in Int.random(in: 0...3000, using: &generator) }
            var decoder = Self.exampleDecoder()
            #expect(try Self.decode(&decoder, Example.chunkedBody, pieces: pieces) == Self.data, "round \(round)")
            var trailer = Self.trailerDecoder()
            #expect(try Self.decode(&trailer, Example.chunkedBodyWithTrailer, pieces: pieces) == Self.data, "round \(round)")
        }
    }

    @Test func verifiesTheDocumentedTrailerAndItsChecksum() throws {
        var decoder = Self.trailerDecoder()
        var output: [UInt8] = []
        for byte in Example.chunkedBodyWithTrailer {
            output += try decoder.feed(CollectionOfOne(byte))
        }
        try decoder.finish()
        #expect(output == Self.data)
        #expect(decoder.trailerChecksum == "sOO8/Q==")
    }

    @Test func seedFromVerifyDrivesTheDecoder() throws {
        let verified = try SigV4.verify(Example.chunkedPutWithTrailer, credentials: Example.credentials, now: Example.time)
        var decoder = AWSChunkedDecoder(signing: verified.chunkSigning, trailerChecksum: .crc32c, decodedLength: 66560)
        #expect(try Self.decode(&decoder, Example.chunkedBodyWithTrailer, pieces: [1000]) == Self.data)
    }

    @Test func changedDataIsRefusedAtItsChunksEnd() throws {
        // Chunk data spans bytes 88..<65624 and 65712..<66736 of the body.
        for offset in [88, 65623, 65712 + 500, 66735] {
            var body = Example.chunkedBody
            body[offset] = UInt8(ascii: "b")
            var decoder = Self.exampleDecoder()
            #expect(throws: S3ChunkError.signatureDoesNotMatch) { _ = try Self.decode(&decoder, body, pieces: [offset + 1]) }
            // Later calls keep refusing.
            #expect(throws: S3ChunkError.signatureDoesNotMatch) { try decoder.finish() }
        }
    }

    @Test func changedSignaturesAreRefused() {
        let body = Example.chunkedBody
        let text = String(decoding: body, as: UTF8.self)
        for signature in [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648", "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ] {
            let changed = Array(text.replacingOccurrences(of: signature, with: flippingByte(of: signature, at: 10)).utf8)
            var decoder = Self.exampleDecoder()
            #expect(throws: S3ChunkError.signatureDoesNotMatch) { _ = try Self.decode(&decoder, changed, pieces: []) }
        }
        let trailerText = String(decoding: Example.chunkedBodyWithTrailer, as: UTF8.self)
        let changedTrailerSignature = trailerText.replacingOccurrences(of: "e435\r\n", with: "e436\r\n")
        var decoder = Self.trailerDecoder()
        #expect(throws: S3ChunkError.signatureDoesNotMatch) { _ = try Self.decode(&decoder, Array(changedTrailerSignature.utf8), pieces: []) }
        // The checksum is covered by the trailer's signature.
        let changedChecksum = trailerText.replacingOccurrences(of: "sOO8/Q==", with: "sOO8/Q=0")
        decoder = Self.trailerDecoder()
        #expect(throws: S3ChunkError.signatureDoesNotMatch) { _ = try Self.decode(&decoder, Array(changedChecksum.utf8), pieces: []) }
        // Chunks signed with another seed do not verify.
        decoder = AWSChunkedDecoder(signing: Example.trailerChunkSigning, trailerChecksum: nil, decodedLength: 66560)
        #expect(throws: S3ChunkError.signatureDoesNotMatch) { _ = try Self.decode(&decoder, Example.chunkedBody, pieces: []) }
    }

    @Test func truncatedBodyIsIncompleteAtFinish() throws {
        let ends = [0, 1, 85, 86, 87, 100, 65536 + 87, 65536 + 88, 65536 + 89, Example.chunkedBody.count - 2, Example.chunkedBody.count - 1]
        for end in ends {
            var decoder = Self.exampleDecoder()
            _ = try decoder.feed(Example.chunkedBody[..<end])
            #expect(!decoder.isComplete)
            #expect(throws: S3ChunkError.incompleteBody, "ends at \(end)") { try decoder.finish() }
        }
        var decoder = Self.trailerDecoder()
        let withoutTrailer = Example.chunkedBodyWithTrailer.count - 116
        _ = try decoder.feed(Example.chunkedBodyWithTrailer[..<withoutTrailer])
        #expect(throws: S3ChunkError.incompleteBody) { try decoder.finish() }
    }

    @Test func trailerWithoutItsClosingBlankLineIsAccepted() throws {
        var decoder = Self.trailerDecoder()
        _ = try decoder.feed(Example.chunkedBodyWithTrailer.dropLast(2))
        try decoder.finish()
        #expect(decoder.isComplete)
        #expect(decoder.trailerChecksum == "sOO8/Q==")
    }

    @Test func decodedLengthMustMatch() throws {
        var short = AWSChunkedDecoder(signing: Example.chunkSigning, trailerChecksum: nil, decodedLength: 66561)
        #expect(throws: S3ChunkError.decodedLengthMismatch(declared: 66561, received: 66560)) { _ = try Self.decode(&short, Example.chunkedBody, pieces: []) }
        #expect(S3ChunkError.decodedLengthMismatch(declared: 66561, received: 66560).code == "IncompleteBody")
        var long = AWSChunkedDecoder(signing: Example.chunkSigning, trailerChecksum: nil, decodedLength: 66559)
        #expect(throws: S3ChunkError.decodedLengthMismatch(declared: 66559, received: 66560)) { _ = try Self.decode(&long, Example.chunkedBody, pieces: []) }
        var unknown = AWSChunkedDecoder(signing: Example.chunkSigning, trailerChecksum: nil, decodedLength: nil)
        #expect(try Self.decode(&unknown, Example.chunkedBody, pieces: []).count == 66560)
    }

    @Test func unsignedTrailerChecksItsChecksum() throws {
        let data = Array("Hello, aws-chunked world!".utf8)
        var crc = S3Checksum(.crc32)
        crc.update(data)
        let good = Self.unsignedBody([data.prefix(10), data.dropFirst(10)], trailer: "x-amz-checksum-crc32:\(crc.base64())")
        var decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: .crc32, decodedLength: data.count)
        #expect(try Self.decode(&decoder, good, pieces: [7]) == data)
        #expect(decoder.trailerChecksum == crc.base64())

        let bad = Self.unsignedBody([data[...]], trailer: "x-amz-checksum-crc32:AAAAAA==")
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: .crc32, decodedLength: data.count)
        #expect(throws: S3ChunkError.badDigest(.crc32)) { _ = try Self.decode(&decoder, bad, pieces: []) }
        #expect(S3ChunkError.badDigest(.crc32).code == "BadDigest")

        let otherAlgorithm = Self.unsignedBody([data[...]], trailer: "x-amz-checksum-crc32c:\(crc.base64())")
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: .crc32, decodedLength: data.count)
        #expect(throws: S3ChunkError.self) { _ = try Self.decode(&decoder, otherAlgorithm, pieces: []) }

        let noTrailer = Self.unsignedBody([data[...]], trailer: nil)
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: .crc32, decodedLength: data.count)
        #expect(throws: S3ChunkError.self) { _ = try Self.decode(&decoder, noTrailer, pieces: []) }

        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: data.count)
        #expect(throws: S3ChunkError.self) { _ = try Self.decode(&decoder, good, pieces: []) }
    }

    @Test func signedTrailerWithAWrongChecksumIsBadDigest() throws {
        // Signed correctly by the client, over a checksum that is not the data's.
        let signing = Example.trailerChunkSigning
        let data = [UInt8](repeating: UInt8(ascii: "z"), count: 9000)
        let first = signing.chunkSignature(previous: signing.seedSignature, dataHash: SigV4.sha256Hex(data))
        let last = signing.chunkSignature(previous: first, dataHash: Example.emptyHash)
        let trailer = "x-amz-checksum-sha256:\(S3Checksum(.sha256).base64())"
        let trailerSignature = signing.trailerSignature(previous: last, trailerHash: SigV4.sha256Hex(Array((trailer + "\n").utf8)))
        let body =
            Array("2328;chunk-signature=\(first)\r\n".utf8) + data + Array("\r\n0;chunk-signature=\(last)\r\n\(trailer)\r\n".utf8)
            + Array("x-amz-trailer-signature:\(trailerSignature)\r\n\r\n".utf8)
        var decoder = AWSChunkedDecoder(signing: signing, trailerChecksum: .sha256, decodedLength: 9000)
        #expect(throws: S3ChunkError.badDigest(.sha256)) { _ = try Self.decode(&decoder, body, pieces: []) }

        var right = S3Checksum(.sha256)
        right.update(data)
        let goodTrailer = "x-amz-checksum-sha256:\(right.base64())"
        let goodSignature = signing.trailerSignature(previous: last, trailerHash: SigV4.sha256Hex(Array((goodTrailer + "\n").utf8)))
        let goodBody =
            Array("2328;chunk-signature=\(first)\r\n".utf8) + data + Array("\r\n0;chunk-signature=\(last)\r\n\(goodTrailer)\r\n".utf8)
            + Array("x-amz-trailer-signature:\(goodSignature)\r\n\r\n".utf8)
        decoder = AWSChunkedDecoder(signing: signing, trailerChecksum: .sha256, decodedLength: 9000)
        #expect(try Self.decode(&decoder, goodBody, pieces: [5000]) == data)

        // Without its signature the trailer is refused.
        let unsignedTrailer = Array("2328;chunk-signature=\(first)\r\n".utf8) + data + Array("\r\n0;chunk-signature=\(last)\r\n\(goodTrailer)\r\n\r\n".utf8)
        decoder = AWSChunkedDecoder(signing: signing, trailerChecksum: .sha256, decodedLength: 9000)
        #expect(throws: S3ChunkError.malformed("the trailer has no x-amz-trailer-signature")) { _ = try Self.decode(&decoder, unsignedTrailer, pieces: []) }
    }

    @Test func chunkLineLimitIsFourKiB() throws {
        // An unsigned chunk line may carry extensions, up to the limit.
        let extensionBytes = AWSChunkedDecoder.chunkLineBytesMax - 2
        let atLimit = Array("1;\(String(repeating: "x", count: extensionBytes))\r\nz\r\n0\r\n\r\n".utf8)
        var decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: 1)
        #expect(try Self.decode(&decoder, atLimit, pieces: [1]) == [UInt8(ascii: "z")])
        let overLimit = Array("1;\(String(repeating: "x", count: extensionBytes + 1))\r\nz\r\n0\r\n\r\n".utf8)
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: 1)
        #expect(throws: S3ChunkError.malformed("a chunk line is longer than 4096 bytes")) { _ = try Self.decode(&decoder, overLimit, pieces: [1]) }
        // A line that never ends is refused once it passes the limit, not held.
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: nil)
        #expect(throws: S3ChunkError.self) { _ = try decoder.feed([UInt8](repeating: UInt8(ascii: "1"), count: 5000)) }
    }

    @Test func chunkSizeLimitIsSixteenMiB() throws {
        var decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: nil)
        #expect(try decoder.feed(Array("1000000\r\n".utf8)).isEmpty)
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: nil)
        #expect(throws: S3ChunkError.self) { _ = try decoder.feed(Array("1000001\r\n".utf8)) }
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: nil)
        #expect(throws: S3ChunkError.self) { _ = try decoder.feed(Array("fffffffffffffffff\r\n".utf8)) }
    }

    @Test func trailerLimitIsSixteenKiB() throws {
        let longLine = "x-amz-meta-a:" + String(repeating: "v", count: AWSChunkedDecoder.trailerBytesMax)
        let body = Self.unsignedBody([[1][...]], trailer: longLine)
        var decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: .crc32, decodedLength: 1)
        #expect(throws: S3ChunkError.malformed("the trailer is longer than 16384 bytes")) { _ = try Self.decode(&decoder, body, pieces: []) }
        let manyLines = Array("1\r\nz\r\n0\r\n".utf8) + Array(repeating: Array("x-amz-meta-a:1234567\r\n".utf8), count: 1000).flatMap { $0 }
        decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: .crc32, decodedLength: 1)
        #expect(throws: S3ChunkError.malformed("the trailer is longer than 16384 bytes")) { _ = try Self.decode(&decoder, manyLines, pieces: [3]) }
    }

    static let malformedBodies: [String] = [
        "zz\r\n", "\r\n", ";chunk-signature=x\r\n", "1\nz\r\n0\r\n\r\n", "1\r\nzz0\r\n\r\n", "1\r\nz\r\n0\r\n\r\nextra",
        "1\r\nz\r\n0\r\nx-amz-meta-a:1\r\n\r\n",
        "123456789\r\n",
    ]

    @Test(arguments: malformedBodies)
    func malformedBodiesAreRefused(body: String) throws {
        var decoder = AWSChunkedDecoder(signing: nil, trailerChecksum: nil, decodedLength: nil)
        let error = try #require(throws: S3ChunkError.self) { _ = try Self.decode(&decoder, Array(body.utf8), pieces: []) }
        guard case .malformed = error else {
            Issue.record("expected malformed, got \(error)")
            return
        }
        #expect(error.code == "InvalidRequest")
    }

    @Test func signedChunksNeedTheirSignature() throws {
        var decoder = Self.exampleDecoder()
        #expect(throws: S3ChunkError.self) { _ = try decoder.feed(Array("10000\r\n".utf8)) }
        decoder = Self.exampleDecoder()
        #expect(throws: S3ChunkError.self) { _ = try decoder.feed(Array("10000;chunk-signature=abc\r\n".utf8)) }
    }

    static func unsignedBody(_ chunks: [ArraySlice<UInt8>], trailer: String?) -> [UInt8] {
        var body: [UInt8] = []
        for chunk in chunks {
            body += Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Array("\r\n".utf8)
        }
        body += Array("0\r\n".utf8)
        if let trailer { body += Array("\(trailer)\r\n".utf8) }
        return body + Array("\r\n".utf8)
    }
}

/// SplitMix64: a small generator whose sequence a seed fixes.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
