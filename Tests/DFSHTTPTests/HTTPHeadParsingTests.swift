import Testing

@testable import DFSHTTP

/// Request lines and header sections: what is taken, what is refused and with which status.
@Suite struct HTTPHeadParsingTests {
    @Test func parsesRequestLineHeadersAndQuery() throws {
        let requests = try DecoderHarness.decode("GET /a%20b/c?x=1&y=%2Fz+w&flag HTTP/1.1\r\nHost: example\r\nX-Thing:  some value \t\r\nx-thing: two\r\n\r\n")
        #expect(requests.count == 1)
        let head = try #require(requests.first?.head)
        #expect(head.method == .get)
        #expect(head.target == "/a%20b/c?x=1&y=%2Fz+w&flag")
        #expect(head.version == .http1_1)
        #expect(head.path == "/a%20b/c")
        #expect(head.decodedPath == "/a b/c")
        #expect(head.query == "x=1&y=%2Fz+w&flag")
        let items = try #require(head.queryItems)
        #expect(items.map(\.name) == ["x", "y", "flag"])
        #expect(items.map(\.value) == ["1", "/z w", ""])
        #expect(head.queryValue("y") == "/z w")
        #expect(head.headers["x-THING"] == "some value")
        #expect(head.headers.values(for: "X-Thing") == ["some value", "two"])
        #expect(head.headers.fields.map(\.name) == ["Host", "X-Thing", "x-thing"])
        #expect(requests.first?.framing == HTTPBodyFraming.none)
        #expect(requests.first?.ended == true)
    }

    @Test func takesAbsoluteFormTargetsAndHTTP10WithoutHost() throws {
        let absolute = try DecoderHarness.decode("GET http://example:8080/metrics?x=1 HTTP/1.1\r\nHost: example:8080\r\n\r\n")
        #expect(absolute.first?.head.path == "/metrics")
        #expect(absolute.first?.head.query == "x=1")
        let bare = try DecoderHarness.decode("GET HTTP://example HTTP/1.1\r\nHost: example\r\n\r\n")
        #expect(bare.first?.head.path == "/")
        let old = try DecoderHarness.decode("GET / HTTP/1.0\r\n\r\n")
        #expect(old.first?.head.version == .http1_0)
        #expect(old.first?.head.allowsKeepAlive == false)
        let options = try DecoderHarness.decode("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(options.first?.head.path == "*")
    }

    @Test func skipsEmptyLinesBeforeTheRequestLine() throws {
        let requests = try DecoderHarness.decode("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(requests.count == 1)
    }

    @Test func connectionCloseEndsKeepAlive() throws {
        let requests = try DecoderHarness.decode("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n")
        #expect(requests.first?.head.allowsKeepAlive == false)
        let plain = try DecoderHarness.decode("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(plain.first?.head.allowsKeepAlive == true)
    }

    @Test func refusesMalformedRequestLines() {
        let bad = [
            "\u{0}\u{1}garbage\r\n\r\n", "GET\r\n\r\n", " GET / HTTP/1.1\r\n\r\n", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", "GET / HTTP/1\r\nHost: h\r\n\r\n", "GET / http/1.1\r\nHost: h\r\n\r\n",
            "GET / HTTP/1.10\r\nHost: h\r\n\r\n", "GET /a\u{7F}b HTTP/1.1\r\nHost: h\r\n\r\n", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
        ]
        for text in bad {
            #expect(DecoderHarness.refusal(text)?.status == .badRequest, "\(text.debugDescription)")
        }
    }

    @Test func garbageIsRefusedAtItsFirstByte() throws {
        var decoder = HTTPRequestDecoder(options: HTTPServerOptions())
        decoder.append([0x16, 0x03, 0x01])  // the start of a TLS handshake
        #expect(throws: HTTPError.self) { try decoder.next() }
    }

    @Test func answers505ToOtherVersions() {
        #expect(DecoderHarness.refusal("GET / HTTP/2.0\r\nHost: h\r\n\r\n")?.status == .httpVersionNotSupported)
        #expect(DecoderHarness.refusal("GET / HTTP/0.9\r\n\r\n")?.status == .httpVersionNotSupported)
        #expect(DecoderHarness.refusal("GET / HTTP/1.2\r\nHost: h\r\n\r\n")?.status == .httpVersionNotSupported)
    }

    @Test func refusesBareLineFeedsAndBareCarriageReturns() {
        #expect(DecoderHarness.refusal("GET / HTTP/1.1\nHost: h\r\n\r\n")?.status == .badRequest)
        #expect(DecoderHarness.refusal("GET / HTTP/1.1\r\nHost: h\n\r\n")?.status == .badRequest)
        #expect(DecoderHarness.refusal("GET / HTTP/1.1\r\nHost: h\r\n\n")?.status == .badRequest)
        #expect(DecoderHarness.refusal("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n")?.status == .badRequest)
        #expect(DecoderHarness.refusal("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")?.status == .badRequest)
    }

    @Test func refusesMalformedFieldLines() {
        let bad = [
            "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",  // obs-fold
            "GET / HTTP/1.1\r\n Host: h\r\n\r\n",  // whitespace before the first field
            "GET / HTTP/1.1\r\nHost : h\r\n\r\n",  // whitespace before the colon
            "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nBad\u{1}Name: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}b\r\n\r\n",
        ]
        for text in bad {
            #expect(DecoderHarness.refusal(text)?.status == .badRequest, "\(text.debugDescription)")
        }
        // obs-text in a value is taken.
        #expect(DecoderHarness.refusal(Array("GET / HTTP/1.1\r\nHost: h\r\nX: caf".utf8) + [0xE9] + Array("\r\n\r\n".utf8)) == nil)
    }

    @Test func http11NeedsExactlyOneHost() {
        #expect(DecoderHarness.refusal("GET / HTTP/1.1\r\n\r\n")?.status == .badRequest)
        #expect(DecoderHarness.refusal("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")?.status == .badRequest)
    }

    @Test func requestLineLimitIsExactAndAnswered414() {
        let options = DecoderHarness.options { $0.requestLineBytesMax = 64 }
        func line(_ bytes: Int) -> String {
            let fixed = "GET / HTTP/1.1".utf8.count
            return "GET /" + String(repeating: "a", count: bytes - fixed) + " HTTP/1.1"
        }
        #expect(line(64).utf8.count == 64)
        #expect(DecoderHarness.refusal(line(64) + "\r\nHost: h\r\n\r\n", options: options) == nil)
        #expect(DecoderHarness.refusal(line(65) + "\r\nHost: h\r\n\r\n", options: options)?.status == .uriTooLong)
        // Refused at the limit's byte, before the line ends.
        #expect(DecoderHarness.refusal(String(line(65).prefix(65)), options: options)?.status == .uriTooLong)
        // Empty lines before the request line count against the limit.
        #expect(DecoderHarness.refusal(String(repeating: "\r\n", count: 40), options: options)?.status == .uriTooLong)
    }

    @Test func headerSectionLimitIsExactAndAnswered431() {
        let options = DecoderHarness.options { $0.headerBytesMax = 64 }
        func request(fieldBytes: Int) -> String {
            // "Host: h\r\n" is 9 bytes, "X: " and CRLF 5 more, the final CRLF 2.
            "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: fieldBytes - 16) + "\r\n\r\n"
        }
        #expect(DecoderHarness.refusal(request(fieldBytes: 64), options: options) == nil)
        #expect(DecoderHarness.refusal(request(fieldBytes: 65), options: options)?.status == .requestHeaderFieldsTooLarge)
        let endless = "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 100)
        #expect(DecoderHarness.refusal(endless, options: options)?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func fieldCountLimitIsExactAndAnswered431() {
        let options = DecoderHarness.options { $0.headerFieldsMax = 5 }
        func request(fields: Int) -> String {
            "GET / HTTP/1.1\r\nHost: h\r\n" + (1..<fields).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        }
        #expect(DecoderHarness.refusal(request(fields: 5), options: options) == nil)
        #expect(DecoderHarness.refusal(request(fields: 6), options: options)?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func expectations() throws {
        let expecting = try DecoderHarness.decode("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\nabc")
        #expect(expecting.first?.expectsContinue == true)
        #expect(expecting.first?.body == Array("abc".utf8))
        // Nothing to wait for without a body.
        let empty = try DecoderHarness.decode("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")
        #expect(empty.first?.expectsContinue == false)
        #expect(DecoderHarness.refusal("PUT / HTTP/1.1\r\nHost: h\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx")?.status == .expectationFailed)
    }
}
