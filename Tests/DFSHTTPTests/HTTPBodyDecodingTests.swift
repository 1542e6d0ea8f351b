import Testing

@testable import DFSHTTP

/// Bodies: Content-Length and chunked framing, their refusals, pipelined requests, and the
/// same results whatever the split of the bytes.
@Suite struct HTTPBodyDecodingTests {
    static let chunked =
        "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n1;name=value;other\r\n \r\nA \t; ext\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"

    @Test func decodesChunkedBodyWithExtensionsAndTrailers() throws {
        let requests = try DecoderHarness.decode(Self.chunked)
        #expect(requests.count == 1)
        #expect(requests.first?.framing == .chunked)
        #expect(requests.first?.body == Array("hello 0123456789".utf8))
        #expect(requests.first?.trailers == ["X-Checksum": "abc", "X-Other": "d"])
        #expect(requests.first?.ended == true)
    }

    @Test func decodesContentLengthBody() throws {
        let requests = try DecoderHarness.decode("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(requests.first?.framing == .length(11))
        #expect(requests.first?.body == Array("hello world".utf8))
        // Repeated equal lengths are one length.
        let repeated = try DecoderHarness.decode("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nhi")
        #expect(repeated.first?.body == Array("hi".utf8))
        let zero = try DecoderHarness.decode("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        #expect(zero.first?.framing == HTTPBodyFraming.none && zero.first?.ended == true)
    }

    @Test func waitsForTheRestOfABody() throws {
        let requests = try DecoderHarness.decode("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
        #expect(requests.first?.body == Array("hello".utf8))
        #expect(requests.first?.ended == false)
    }

    @Test func refusesAmbiguousOrUnsupportedFraming() {
        let cases: [(String, HTTPStatus)] = [
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", .badRequest),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .notImplemented),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", .notImplemented),
            ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", .notImplemented),
        ]
        for (text, status) in cases {
            #expect(DecoderHarness.refusal(text)?.status == status, "\(text.debugDescription)")
        }
    }

    @Test func refusesBadChunks() {
        let start = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        let bad = [
            "zz\r\n", "\r\n", ";ext\r\n", "-1\r\n", " 5\r\nhello\r\n0\r\n\r\n", "5 x\r\nhello\r\n", "5\nhello\r\n0\r\n\r\n",
            "5\r\nhelloX\r\n", "5\r\nhello\r\r", "5;a\u{1}b\r\nhello\r\n",
            "1000000000000000\r\n",  // 16 hex digits: 2^60, past the limit
            "FFFFFFFFFFFFFFFFFFFFFFFF\r\n",  // would overflow an Int
            "0\r\nBad Trailer: x\r\n\r\n", "0\r\n folded\r\n\r\n",
        ]
        for chunk in bad {
            #expect(DecoderHarness.refusal(start + chunk)?.status == .badRequest, "\(chunk.debugDescription)")
        }
        // The largest size taken is 15 hex digits.
        #expect(DecoderHarness.refusal(start + "FFFFFFFFFFFFFFF\r\nabc") == nil)
    }

    @Test func chunkLineLimitIsExact() {
        let options = DecoderHarness.options { $0.chunkLineBytesMax = 16 }
        let start = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        let exact = "1;" + String(repeating: "e", count: 14)
        #expect(DecoderHarness.refusal(start + exact + "\r\nx\r\n0\r\n\r\n", options: options) == nil)
        #expect(DecoderHarness.refusal(start + exact + "e\r\nx\r\n0\r\n\r\n", options: options)?.status == .badRequest)
        #expect(DecoderHarness.refusal(start + exact + "ee", options: options)?.status == .badRequest)
    }

    @Test func trailerLimitsAreTheHeaderLimits() {
        let options = DecoderHarness.options { $0.headerFieldsMax = 2 }
        let start = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(DecoderHarness.refusal(start + "A: 1\r\nB: 2\r\n\r\n", options: options) == nil)
        #expect(DecoderHarness.refusal(start + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", options: options)?.status == .requestHeaderFieldsTooLarge)
    }

    static let pipelined =
        "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
        + "PUT /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde"
        + Self.chunked
        + "HEAD /four?q=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

    @Test func pipelinedRequestsInOneBufferComeOutInOrder() throws {
        let requests = try DecoderHarness.decode(Self.pipelined)
        #expect(requests.map(\.head.path) == ["/one", "/two", "/upload", "/four"])
        #expect(requests.map(\.body) == [[], Array("abcde".utf8), Array("hello 0123456789".utf8), []])
        #expect(requests.allSatisfy { $0.ended })
        #expect(requests[2].trailers["x-checksum"] == "abc")
    }

    @Test func everySplitDecodesTheSame() throws {
        let bytes = Array(Self.pipelined.utf8)
        let whole = try DecoderHarness.decode(pieces: [bytes])
        for split in 0...bytes.count {
            let pieces = try DecoderHarness.decode(pieces: [Array(bytes[..<split]), Array(bytes[split...])])
            #expect(pieces == whole, "split at \(split)")
        }
        let single = try DecoderHarness.decode(pieces: bytes.map { [$0] })
        #expect(single == whole)
        // And with body pieces of every size from one byte.
        for bodyBytesMax in [1, 2, 3, 64] {
            #expect(try DecoderHarness.decode(pieces: [bytes], bodyBytesMax: bodyBytesMax) == whole)
        }
    }

    @Test func directReadsCountAgainstTheDeclaredLength() throws {
        var decoder = HTTPRequestDecoder(options: HTTPServerOptions())
        decoder.append(Array("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc".utf8))
        guard case .head = try decoder.next() else {
            Issue.record("no head")
            return
        }
        #expect(decoder.directBodyBytes == nil)
        #expect(try decoder.next() == .body(Array("abc".utf8)))
        #expect(decoder.directBodyBytes == 7)
        decoder.consumedDirectly(7)
        #expect(decoder.directBodyBytes == nil)
        #expect(try decoder.next() == .end(trailers: [:]))
        #expect(decoder.isBetweenRequests)
    }
}
