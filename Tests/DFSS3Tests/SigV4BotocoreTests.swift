import Foundation
import Testing

@testable import DFSS3

/// Requests signed by botocore, the signer of boto3 and the aws CLI, verified here.
@Suite struct SigV4BotocoreTests {
    static let accessKey = "AKIDBOTOCORETEST"
    static let secretKey = "s3cr3t/Key+With=Symbols"
    static let amzDate = "20261201T080000Z"

    /// Signs a header-auth PUT, a header-auth GET with a query, and a presigned GET, all in
    /// eu-west-3, at ``amzDate``; prints them as JSON.
    static let script = """
        import datetime, json, sys, urllib.parse
        from unittest import mock
        import botocore.auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        credentials = Credentials("\(accessKey)", "\(secretKey)")
        fixed = datetime.datetime(2026, 12, 1, 8, 0, 0)
        botocore.auth.get_current_datetime = lambda *args, **kwargs: fixed
        out = []
        def emit(request):
            prepared = request.prepare()
            url = urllib.parse.urlsplit(prepared.url)
            headers = [[k, v if isinstance(v, str) else v.decode()] for k, v in prepared.headers.items()]
            if not any(k.lower() == "host" for k, _ in headers):
                headers.append(["Host", url.netloc])
            out.append({"method": prepared.method, "path": url.path, "query": url.query, "headers": headers})
        put = AWSRequest(method="PUT", url="http://127.0.0.1:9000/my-bucket/dir/a%20b%2Bc~%281%29.txt", data=b"hello, world",
                         headers={"Content-Type": "text/plain", "x-amz-meta-note": "  two   spaces  "})
        botocore.auth.S3SigV4Auth(credentials, "s3", "eu-west-3").add_auth(put)
        emit(put)
        get = AWSRequest(method="GET", url="http://127.0.0.1:9000/my-bucket",
                         params={"list-type": "2", "prefix": "dir/a b", "continuation-token": "x+y==", "delimiter": "/"})
        botocore.auth.S3SigV4Auth(credentials, "s3", "eu-west-3").add_auth(get)
        emit(get)
        presigned = AWSRequest(method="GET", url="http://127.0.0.1:9000/my-bucket/dir/%C3%A9t%C3%A9.txt",
                               params={"versionId": "v 1"})
        botocore.auth.S3SigV4QueryAuth(credentials, "s3", "eu-west-3", expires=3600).add_auth(presigned)
        emit(presigned)
        json.dump(out, sys.stdout)
        """

    struct Signed: Decodable {
        var method: String
        var path: String
        var query: String
        var headers: [[String]]

        var request: SigV4Request {
            SigV4Request(method: method, rawPath: path, rawQuery: query, headers: headers.map { (name: $0[0], value: $0[1]) })
        }
    }

    static let botocoreAvailable: Bool = (try? run(["-c", "import botocore"])) != nil

    /// Runs python3 with `arguments`; its standard output, or nil when it failed.
    static func run(_ arguments: [String]) throws -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? data : nil
    }

    @Test(.enabled(if: botocoreAvailable, "python3 with botocore is not installed; skipping the botocore cross-check"))
    func botocoreSignaturesVerify() throws {
        let output = try #require(try Self.run(["-c", Self.script]), "the botocore signing script failed")
        let signed = try JSONDecoder().decode([Signed].self, from: output)
        try #require(signed.count == 3)
        let credentials = S3Credentials([(accessKey: Self.accessKey, secretKey: Self.secretKey)])
        let now = Date(timeIntervalSince1970: TimeInterval(try #require(SigV4.seconds(amzDate: Self.amzDate))))

        let put = try SigV4.verify(signed[0].request, credentials: credentials, now: now)
        #expect(put.accessKey == Self.accessKey)
        #expect(put.payload == .sha256(SigV4.sha256Hex(Array("hello, world".utf8))))
        let get = try SigV4.verify(signed[1].request, credentials: credentials, now: now)
        #expect(get.payload == .sha256(SigV4.emptyHash))
        let presigned = try SigV4.verify(signed[2].request, credentials: credentials, now: now.addingTimeInterval(3599))
        #expect(presigned.payload == .unsigned)
        #expect(throws: S3AuthError.expired) { try SigV4.verify(signed[2].request, credentials: credentials, now: now.addingTimeInterval(3600)) }

        for item in signed {
            var changed = item.request
            changed.rawPath += "x"
            #expect(throws: S3AuthError.signatureDoesNotMatch) { try SigV4.verify(changed, credentials: credentials, now: now) }
        }
    }
}
