import Foundation
import Testing

@testable import DFSS3

@Suite struct SigV4Tests {
    typealias Example = SigV4Example

    static let headerExamples: [(String, SigV4Request)] = [
        ("GET object", Example.getObject), ("PUT object", Example.putObject), ("GET bucket lifecycle", Example.getLifecycle),
        ("GET bucket list-objects", Example.listObjects), ("chunked PUT", Example.chunkedPut),
        ("chunked PUT with trailer", Example.chunkedPutWithTrailer),
    ]

    @Test func documentedGetObjectVerifies() throws {
        let verified = try SigV4.verify(Example.getObject, credentials: Example.credentials, now: Example.time)
        #expect(verified.accessKey == Example.accessKey)
        #expect(verified.payload == .sha256(Example.emptyHash))
        #expect(verified.chunkSigning == nil)
    }

    @Test func documentedPutObjectVerifiesWithThePathSentBareOrEncoded() throws {
        let verified = try SigV4.verify(Example.putObject, credentials: Example.credentials, now: Example.time)
        #expect(verified.payload == .sha256("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"))
        var encoded = Example.putObject
        encoded.rawPath = "/test%24file.text"
        #expect(throws: Never.self) { try SigV4.verify(encoded, credentials: Example.credentials, now: Example.time) }
        encoded.rawPath = "/test%24file.texT"
        #expect(throws: S3AuthError.signatureDoesNotMatch) { try SigV4.verify(encoded, credentials: Example.credentials, now: Example.time) }
    }

    @Test func documentedBucketRequestsVerify() throws {
        for request in [Example.getLifecycle, Example.listObjects] {
            let verified = try SigV4.verify(request, credentials: Example.credentials, now: Example.time)
            #expect(verified.payload == .sha256(Example.emptyHash))
        }
    }

    @Test func documentedStreamingRequestsGiveTheirChunkSigning() throws {
        let plain = try SigV4.verify(Example.chunkedPut, credentials: Example.credentials, now: Example.time)
        #expect(plain.payload == .streamingSigned(trailer: false))
        #expect(plain.chunkSigning?.seedSignature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        #expect(plain.chunkSigning?.scope == "20130524/us-east-1/s3/aws4_request")
        #expect(plain.chunkSigning?.amzDate == "20130524T000000Z")
        let trailer = try SigV4.verify(Example.chunkedPutWithTrailer, credentials: Example.credentials, now: Example.time)
        #expect(trailer.payload == .streamingSigned(trailer: true))
        #expect(trailer.chunkSigning?.seedSignature == "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
    }

    @Test(arguments: headerExamples)
    func anyChangeToASignedPartIsRefused(name: String, request: SigV4Request) {
        var changes: [SigV4Request] = []
        var method = request
        method.method = request.method == "GET" ? "PUT" : "GET"
        changes.append(method)
        var path = request
        path.rawPath = flippingByte(of: request.rawPath + "x", at: -1)
        changes.append(path)
        var query = request
        query.rawQuery = request.rawQuery.isEmpty ? "acl" : flippingByte(of: request.rawQuery, at: -1)
        changes.append(query)
        changes.append(request.replacing(header: "Host", with: flippingByte(of: request.value(ofHeader: "Host"), at: 0)))
        changes.append(request.replacing(header: "x-amz-date", with: "20130524T000001Z"))
        changes.append(request.replacing(header: "Authorization", with: flippingByte(of: request.value(ofHeader: "Authorization"), at: -1)))
        // A signature in upper case is the same signature.
        let upper = request.replacing(
            header: "Authorization",
            with: String(request.value(ofHeader: "Authorization").dropLast(64)) + String(request.value(ofHeader: "Authorization").suffix(64)).uppercased())
        #expect(throws: Never.self) { try SigV4.verify(upper, credentials: Example.credentials, now: Example.time) }
        for (index, change) in changes.enumerated() {
            #expect(throws: S3AuthError.signatureDoesNotMatch, "\(name), change \(index)") {
                try SigV4.verify(change, credentials: Example.credentials, now: Example.time)
            }
        }
    }

    @Test func changedPayloadHashIsRefused() {
        let request = Example.getObject.replacing(header: "x-amz-content-sha256", with: flippingByte(of: Example.emptyHash, at: 5))
        #expect(throws: S3AuthError.signatureDoesNotMatch) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
    }

    @Test func headerValuesAreTrimmedAndHeaderNamesTakenInAnyCase() throws {
        var request = Example.getObject.replacing(header: "Range", with: "  bytes=0-9 \t")
        request.headers = request.headers.map { (name: $0.name.uppercased(), value: $0.value) }
        #expect(throws: Never.self) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
        #expect(SigV4.trimmingHeaderValue("  a   b \t c  ") == "a b c")
    }

    @Test func presignedExampleVerifiesAsUnsigned() throws {
        let verified = try SigV4.verify(Example.presignedGet, credentials: Example.credentials, now: Example.time)
        #expect(verified.payload == .unsigned)
        #expect(verified.accessKey == Example.accessKey)
        #expect(verified.chunkSigning == nil)
    }

    @Test func presignedExampleRefusesAnyChange() {
        var path = Example.presignedGet
        path.rawPath = "/test.tx0"
        var signature = Example.presignedGet
        signature.rawQuery = flippingByte(of: Example.presignedQuery, at: -1)
        var expires = Example.presignedGet
        expires.rawQuery = Example.presignedQuery.replacingOccurrences(of: "Expires=86400", with: "Expires=86401")
        var extra = Example.presignedGet
        extra.rawQuery += "&acl"
        let host = Example.presignedGet.replacing(header: "host", with: "examplebucket.s3.amazonaws.co")
        for request in [path, signature, expires, extra, host] {
            #expect(throws: S3AuthError.signatureDoesNotMatch) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
        }
        // Headers that are not signed may change.
        let unsigned = Example.presignedGet.replacing(header: "User-Agent", with: "curl")
        #expect(throws: Never.self) { try SigV4.verify(unsigned, credentials: Example.credentials, now: Example.time) }
    }

    @Test func headerAuthAllowsFifteenMinutesOfSkewEitherWay() {
        let seconds = Example.seconds
        for offset in [-900, 0, 900] {
            #expect(throws: Never.self) {
                try SigV4.verify(Example.getObject, credentials: Example.credentials, now: Date(timeIntervalSince1970: TimeInterval(seconds + offset)))
            }
        }
        for offset in [-901.0, -900.5, 900.5, 901.0, 86400.0] {
            #expect(throws: S3AuthError.requestTimeTooSkewed) {
                try SigV4.verify(Example.getObject, credentials: Example.credentials, now: Date(timeIntervalSince1970: TimeInterval(seconds) + offset))
            }
        }
    }

    @Test func presignedURLExpiresAfterItsExpiry() {
        let seconds = TimeInterval(Example.seconds)
        for offset in [-900.0, 0, 86399.5] {
            #expect(throws: Never.self) {
                try SigV4.verify(Example.presignedGet, credentials: Example.credentials, now: Date(timeIntervalSince1970: seconds + offset))
            }
        }
        for offset in [86400.0, 86401, 1e9] {
            #expect(throws: S3AuthError.expired) {
                try SigV4.verify(Example.presignedGet, credentials: Example.credentials, now: Date(timeIntervalSince1970: seconds + offset))
            }
        }
        #expect(throws: S3AuthError.requestTimeTooSkewed) {
            try SigV4.verify(Example.presignedGet, credentials: Example.credentials, now: Date(timeIntervalSince1970: seconds - 900.5))
        }
    }

    @Test func unknownAccessKeyIsRefusedBeforeTheSignature() {
        let others = S3Credentials([(accessKey: "AKIDOTHER", secretKey: Example.secretKey)])
        #expect(throws: S3AuthError.unknownAccessKey) { try SigV4.verify(Example.getObject, credentials: others, now: Example.time) }
        #expect(throws: S3AuthError.unknownAccessKey) { try SigV4.verify(Example.presignedGet, credentials: others, now: Example.time) }
        let wrongSecret = S3Credentials([(accessKey: Example.accessKey, secretKey: "other")])
        #expect(throws: S3AuthError.signatureDoesNotMatch) { try SigV4.verify(Example.getObject, credentials: wrongSecret, now: Example.time) }
    }

    @Test func unsignedRequestIsMissingAuth() {
        let request = Example.getObject.removing(header: "Authorization")
        #expect(throws: S3AuthError.missing) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
        #expect(S3AuthError.missing.code == "AccessDenied")
    }

    static let malformedAuthorizations: [String] = [
        "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request,SignedHeaders=host;x-amz-date,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws5_request,SignedHeaders=host;x-amz-date,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=range;x-amz-date,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;;x-amz-date,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,Credential=x,SignedHeaders=host,Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=\(String(repeating: "g", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=\(String(repeating: "a", count: 64)),Extra=1",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature",
        "AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/s3/aws4_request,SignedHeaders=host,Signature=\(String(repeating: "a", count: 64))",
    ]

    @Test(arguments: malformedAuthorizations)
    func malformedAuthorizationIsRefused(authorization: String) throws {
        let request = Example.getObject.replacing(header: "Authorization", with: authorization)
        let error = try #require(throws: S3AuthError.self) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
        guard case .malformed = error else {
            Issue.record("expected malformed, got \(error)")
            return
        }
        #expect(error.code == "AuthorizationHeaderMalformed")
    }

    @Test func malformedRequestHeadersAreRefused() throws {
        let requests = [
            Example.getObject.removing(header: "x-amz-content-sha256"),
            Example.getObject.replacing(header: "x-amz-content-sha256", with: "abc"),
            Example.getObject.replacing(header: "x-amz-content-sha256", with: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"),
            Example.getObject.replacing(header: "x-amz-date", with: "2013-05-24T00:00:00Z"),
            Example.getObject.replacing(header: "x-amz-date", with: "20130231T000000Z"),
            Example.getObject.replacing(header: "x-amz-date", with: "20130524T240000Z"),
            Example.getObject.removing(header: "x-amz-date"),
            Example.putObject.removing(header: "x-amz-date").replacing(header: "Date", with: "24 May 2013 00:00:00 GMT"),
        ]
        for request in requests {
            let error = try #require(throws: S3AuthError.self) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
            guard case .malformed = error else {
                Issue.record("expected malformed, got \(error)")
                continue
            }
        }
        var both = Example.getObject
        both.rawQuery = Example.presignedQuery
        #expect(throws: S3AuthError.self) { try SigV4.verify(both, credentials: Example.credentials, now: Example.time) }
        var twice = Example.getObject
        twice.headers.append(("authorization", Example.getObject.value(ofHeader: "Authorization")))
        #expect(throws: S3AuthError.self) { try SigV4.verify(twice, credentials: Example.credentials, now: Example.time) }
        var long = Example.getObject
        long.rawPath = "/" + String(repeating: "a", count: SigV4.requestTargetBytesMax)
        #expect(throws: S3AuthError.self) { try SigV4.verify(long, credentials: Example.credentials, now: Example.time) }
    }

    @Test func dateHeaderStandsInForXAmzDate() throws {
        // The PUT example signs both; with X-Amz-Date unsigned and gone, its Date gives the same time.
        #expect(SigV4.seconds(httpDate: "Fri, 24 May 2013 00:00:00 GMT") == Example.seconds)
        #expect(SigV4.amzDate(seconds: Example.seconds) == "20130524T000000Z")
        #expect(SigV4.seconds(amzDate: "20130524T000000Z") == Example.seconds)
        #expect(SigV4.seconds(amzDate: "20240229T235959Z") == 1_709_251_199)
        #expect(SigV4.amzDate(seconds: 1_709_251_199) == "20240229T235959Z")
        #expect(SigV4.seconds(amzDate: "20230229T000000Z") == nil)
        #expect(SigV4.seconds(httpDate: "Fri, 24 Mai 2013 00:00:00 GMT") == nil)
    }

    static let malformedQueries: [String] = [
        Example.presignedQuery.replacingOccurrences(of: "X-Amz-Expires=86400", with: "X-Amz-Expires=604801"),
        Example.presignedQuery.replacingOccurrences(of: "X-Amz-Expires=86400", with: "X-Amz-Expires=0"),
        Example.presignedQuery.replacingOccurrences(of: "X-Amz-Expires=86400", with: "X-Amz-Expires=-5"),
        Example.presignedQuery.replacingOccurrences(of: "X-Amz-Expires=86400", with: "X-Amz-Expires=1e3"),
        Example.presignedQuery.replacingOccurrences(of: "&X-Amz-Expires=86400", with: ""),
        Example.presignedQuery.replacingOccurrences(of: "AWS4-HMAC-SHA256", with: "AWS4-HMAC-SHA1"),
        Example.presignedQuery.replacingOccurrences(of: "X-Amz-Date=20130524T000000Z", with: "X-Amz-Date=20130524"),
        Example.presignedQuery.replacingOccurrences(of: "X-Amz-SignedHeaders=host", with: "X-Amz-SignedHeaders=range"),
        Example.presignedQuery + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        Example.presignedQuery.replacingOccurrences(of: "%2Fs3%2F", with: "%2Fsqs%2F"),
    ]

    @Test(arguments: malformedQueries)
    func malformedPresignedQueryIsRefused(query: String) throws {
        var request = Example.presignedGet
        request.rawQuery = query
        let error = try #require(throws: S3AuthError.self) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
        guard case .malformedQuery = error else {
            Issue.record("expected malformedQuery, got \(error)")
            return
        }
        #expect(error.code == "AuthorizationQueryParametersError")
    }

    @Test func presignedExpiryMayBeSevenDays() throws {
        // The signature no longer matches, but the expiry itself is accepted.
        var request = Example.presignedGet
        request.rawQuery = Example.presignedQuery.replacingOccurrences(of: "X-Amz-Expires=86400", with: "X-Amz-Expires=604800")
        #expect(throws: S3AuthError.signatureDoesNotMatch) { try SigV4.verify(request, credentials: Example.credentials, now: Example.time) }
    }

    @Test func canonicalQueryEncodesOnceAndSorts() {
        let query = SigV4.canonicalQuery(SigV4.queryParameters("prefix=a%2fb&b=2&a=%7e&a=1&c=x%20y&d&e=%2a+%2B&&f=%zz"))
        #expect(query == "a=1&a=~&b=2&c=x%20y&d=&e=%2A%20%2B&f=%25zz&prefix=a%2Fb")
        #expect(SigV4.canonicalQuery(SigV4.queryParameters("X-Amz-Signature=1&x-amz-signature=2"), excluding: "X-Amz-Signature") == "x-amz-signature=2")
        #expect(SigV4.canonicalQuery(SigV4.queryParameters("")) == "")
        #expect(SigV4.canonicalQuery(SigV4.queryParameters("k=%C3%A9t%C3%A9")) == "k=%C3%A9t%C3%A9")
    }

    @Test func canonicalPathsAreTheSentPathAndItsEncoding() {
        #expect(SigV4.canonicalPaths("/b/a%20b") == ["/b/a%20b"])
        #expect(SigV4.canonicalPaths("/test$file.text") == ["/test$file.text", "/test%24file.text"])
        #expect(SigV4.canonicalPaths("/a%2fb/%7e") == ["/a%2fb/%7e", "/a%2Fb/~"])
        #expect(SigV4.canonicalPaths("") == ["/"])
        #expect(SigV4.canonicalPaths("/a/../b") == ["/a/../b"])
    }

    @Test func credentialsFileIsParsed() throws {
        let credentials = try S3Credentials.parse("# keys\n\nAKID1 secret1\n  AKID2\tsecret/2+x  \r\n# AKID3 secret3\n")
        #expect(credentials.secretKey(for: "AKID1") == "secret1")
        #expect(credentials.secretKey(for: "AKID2") == "secret/2+x")
        #expect(credentials.secretKey(for: "AKID3") == nil)
        #expect(throws: S3AuthError.malformedCredentials(line: 2)) { try S3Credentials.parse("AKID1 secret1\nAKID2\n") }
        #expect(throws: S3AuthError.malformedCredentials(line: 1)) { try S3Credentials.parse("AKID1 secret1 extra") }
        #expect(throws: S3AuthError.malformedCredentials(line: 3)) { try S3Credentials.parse("\n\nAK/ID secret") }
    }

    @Test func contentSHA256NamesThePayloadMode() throws {
        #expect(try SigV4.payload("UNSIGNED-PAYLOAD") == .unsigned)
        #expect(try SigV4.payload("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == .streamingSigned(trailer: false))
        #expect(try SigV4.payload("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == .streamingSigned(trailer: true))
        #expect(try SigV4.payload("STREAMING-UNSIGNED-PAYLOAD-TRAILER") == .streamingUnsignedTrailer)
        #expect(try SigV4.payload(Example.emptyHash.uppercased()) == .sha256(Example.emptyHash))
        #expect(throws: S3AuthError.self) { try SigV4.payload("streaming-aws4-hmac-sha256-payload") }
        #expect(throws: S3AuthError.self) { try SigV4.payload(String(Example.emptyHash.dropLast())) }
        #expect(SigV4Payload.streamingUnsignedTrailer.isStreaming)
        #expect(!SigV4Payload.unsigned.isStreaming)
    }

    @Test func unsignedTrailerModeGivesNoChunkSigning() throws {
        // Re-signed here with the example key: the documentation gives no signature for this mode.
        var request = Example.chunkedPutWithTrailer.replacing(header: "x-amz-content-sha256", with: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        let signedHeaders = "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer"
        let canonical = SigV4.canonicalRequest(
            method: "PUT", path: request.rawPath, query: "", request: request, signedHeaders: signedHeaders.split(separator: ";").map(String.init),
            payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        let key = SigV4.signingKey(secretKey: Example.secretKey, date: "20130524", region: "us-east-1")
        let signature = SigV4.hex(
            SigV4.hmac(key, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\(SigV4.sha256Hex(canonical.utf8))"))
        request = request.replacing(header: "Authorization", with: Example.authorization(signedHeaders, signature))
        let verified = try SigV4.verify(request, credentials: Example.credentials, now: Example.time)
        #expect(verified.payload == .streamingUnsignedTrailer)
        #expect(verified.chunkSigning == nil)
    }

    @Test func documentedCanonicalRequestOfGetObject() {
        // The canonical request and its hash as the documentation prints them.
        let canonical = SigV4.canonicalRequest(
            method: "GET", path: "/test.txt", query: "", request: Example.getObject,
            signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"], payloadHash: Example.emptyHash)
        #expect(
            canonical
                == "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:\(Example.emptyHash)\n"
                + "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\(Example.emptyHash)")
        #expect(SigV4.sha256Hex(canonical.utf8) == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
    }

    @Test func errorsCarryTheirS3Codes() {
        let expected: [(S3AuthError, String)] = [
            (.missing, "AccessDenied"), (.malformed("x"), "AuthorizationHeaderMalformed"), (.malformedQuery("x"), "AuthorizationQueryParametersError"),
            (.unknownAccessKey, "InvalidAccessKeyId"), (.signatureDoesNotMatch, "SignatureDoesNotMatch"),
            (.requestTimeTooSkewed, "RequestTimeTooSkewed"), (.expired, "AccessDenied"),
        ]
        for (error, code) in expected {
            #expect(error.code == code)
            #expect(!error.message.isEmpty)
        }
        #expect(S3AuthError.expired.message == "Request has expired")
    }
}

/// The requests of AWS's documentation ("Signature Calculations for the Authorization Header",
/// "Authenticating Requests: Using Query Parameters", the chunked-upload pages), signed with
/// its example credentials at 20130524T000000Z in us-east-1.
enum SigV4Example {
    static let accessKey = "AKIAIOSFODNN7EXAMPLE"
    static let secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let credentials = S3Credentials([(accessKey: accessKey, secretKey: secretKey)])
    /// 20130524T000000Z.
    static let seconds = 1_369_353_600
    static let time = Date(timeIntervalSince1970: TimeInterval(seconds))
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func authorization(_ signedHeaders: String, _ signature: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(accessKey)/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signedHeaders),Signature=\(signature)"
    }

    static let getObject = SigV4Request(
        method: "GET", rawPath: "/test.txt", rawQuery: "",
        headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", emptyHash),
            ("x-amz-date", "20130524T000000Z"),
            ("Authorization", authorization("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")),
        ])

    /// Sent as `PUT test$file.text`, signed as `/test%24file.text`.
    static let putObject = SigV4Request(
        method: "PUT", rawPath: "/test$file.text", rawQuery: "",
        headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            (
                "Authorization",
                authorization(
                    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
            ),
            ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
        ])

    static let getLifecycle = SigV4Request(
        method: "GET", rawPath: "/", rawQuery: "lifecycle",
        headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", emptyHash),
            ("Authorization", authorization("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")),
        ])

    static let listObjects = SigV4Request(
        method: "GET", rawPath: "/", rawQuery: "max-keys=2&prefix=J",
        headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", emptyHash),
            ("Authorization", authorization("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")),
        ])

    static let presignedQuery =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    static let presignedGet = SigV4Request(
        method: "GET", rawPath: "/test.txt", rawQuery: presignedQuery, headers: [("Host", "examplebucket.s3.amazonaws.com")])

    static let chunkedPut = SigV4Request(
        method: "PUT", rawPath: "/examplebucket/chunkObject.txt", rawQuery: "",
        headers: [
            ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "Authorization",
                authorization(
                    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
            ),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
        ])

    static let chunkedPutWithTrailer = SigV4Request(
        method: "PUT", rawPath: "/examplebucket/chunkObject.txt", rawQuery: "",
        headers: [
            ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "Authorization",
                authorization(
                    "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
                    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
            ),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"), ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ])

    /// The 66,560-byte upload of `a`s in chunks of 64 KiB, 1 KiB and 0, each signed.
    static let chunkedBody: [UInt8] =
        Array("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".utf8)
        + [UInt8](repeating: UInt8(ascii: "a"), count: 65536)
        + Array("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".utf8)
        + [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
        + Array("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".utf8)

    /// The same upload with a signed CRC32C trailer.
    static let chunkedBodyWithTrailer: [UInt8] =
        Array("10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n".utf8)
        + [UInt8](repeating: UInt8(ascii: "a"), count: 65536)
        + Array("\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n".utf8)
        + [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
        + Array("\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n".utf8)
        + Array("x-amz-checksum-crc32c:sOO8/Q==\r\n".utf8)
        + Array("x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n".utf8)

    static let chunkSigning = ChunkSigning(
        secretKey: secretKey, region: "us-east-1", amzDate: "20130524T000000Z",
        seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    static let trailerChunkSigning = ChunkSigning(
        secretKey: secretKey, region: "us-east-1", amzDate: "20130524T000000Z",
        seedSignature: "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
}

extension SigV4Request {
    /// This request with the first header called `name` (any case) given `value`.
    func replacing(header name: String, with value: String) -> SigV4Request {
        var copy = self
        if let index = copy.headers.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
            copy.headers[index].value = value
        } else {
            copy.headers.append((name: name, value: value))
        }
        return copy
    }

    func removing(header name: String) -> SigV4Request {
        var copy = self
        copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        return copy
    }

    func value(ofHeader name: String) -> String {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value ?? ""
    }
}

/// `text` with the byte at `offset` (from the end when negative) replaced by another printable one.
func flippingByte(of text: String, at offset: Int) -> String {
    var bytes = Array(text.utf8)
    let index = offset >= 0 ? offset : bytes.count + offset
    bytes[index] = bytes[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
    return String(decoding: bytes, as: UTF8.self)
}
