import Testing

@testable import DFSHTTP

/// The small values: headers, percent-decoding, dates, response heads.
@Suite struct HTTPValuesTests {
    @Test func headersLookUpWithoutCaseAndKeepOrder() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "X-A": "1"]
        headers.add("x-a", "2")
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers.values(for: "x-A") == ["1", "2"])
        headers.set("X-A", "3")
        #expect(headers.fields.map(\.name) == ["Content-Type", "X-A"])
        #expect(headers["x-a"] == "3")
        headers.remove("content-type")
        #expect(headers.count == 1)
        headers.add("Connection", "Keep-Alive , CLOSE")
        #expect(headers.containsToken("close", in: "connection"))
        #expect(!headers.containsToken("clos", in: "connection"))
    }

    @Test func percentDecoding() {
        #expect(PercentDecoding.decode("/a%20b%2Fc+d") == "/a b/c+d")
        #expect(PercentDecoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentDecoding.decode("%E2%82%AC") == "€")
        #expect(PercentDecoding.decode("%e2%82%ac") == "€")
        #expect(PercentDecoding.decode("%") == nil)
        #expect(PercentDecoding.decode("%4") == nil)
        #expect(PercentDecoding.decode("%zz") == nil)
        #expect(PercentDecoding.decode("%FF") == nil)  // not UTF-8
        #expect(PercentDecoding.queryItems("a=1&&b&c=%3D=")?.map { "\($0.name):\($0.value)" } == ["a:1", "b:", "c:=="])
        #expect(PercentDecoding.queryItems("a=%") == nil)
    }

    @Test func datesAreIMFFixdate() {
        #expect(HTTPDate.format(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(secondsSince1970: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 4_102_444_799) == "Thu, 31 Dec 2099 23:59:59 GMT")
    }

    @Test func responseHeadCarriesServerFieldsAndReplacesFraming() {
        let head = HTTPResponseEncoder.head(
            status: .ok, headers: ["Content-Type": "text/plain", "content-length": "99", "Connection": "keep-alive"], framing: .length(5),
            close: true, serverName: "dfs", date: "D")
        #expect(
            String(decoding: head, as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nDate: D\r\nServer: dfs\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
        #expect(String(decoding: HTTPResponseEncoder.chunkPrefix(byteCount: 255, first: false), as: UTF8.self) == "\r\nff\r\n")
        #expect(HTTPStatus(code: 431).reasonPhrase == "Request Header Fields Too Large")
    }

    @Test func fieldsThatWouldBreakFramingAreNotValid() {
        #expect(HTTPSyntax.isValidField(name: "X-A", value: "fine value"))
        #expect(!HTTPSyntax.isValidField(name: "X-A", value: "a\r\nInjected: yes"))
        #expect(!HTTPSyntax.isValidField(name: "X A", value: "v"))
        #expect(!HTTPSyntax.isValidField(name: "", value: "v"))
    }

    @Test func methodPolicyHelperAnswers405WithAllow() {
        let error = HTTPResponse.methodNotAllowedError(allowed: [.get, .head])
        #expect(error.status == .methodNotAllowed)
        #expect(error.response.headers["Allow"] == "GET, HEAD")
    }
}
