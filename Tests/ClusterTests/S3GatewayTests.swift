import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// `dfs serve-s3`'s gateway driven by the real aws CLI and boto3: buckets, objects up and
/// down, metadata, ranges, copies, deletes, presigned URLs and refused signatures.
@Suite(.enabled(if: TestGateway.clientsAvailable, "\(TestGateway.unavailableReason)"))
struct S3GatewayTests {
    /// aws s3 mb, cp up and down (empty, small, 3 MiB over three blocks), head-object with
    /// the content type and metadata given at upload, rm, rb; the bytes come back the same.
    @Test func awsCLICopiesObjectsUpAndDown() async throws {
        try await TestGateway.with { gateway in
            let local = gateway.folder
            let sizes = ["empty": 0, "small": 5, "big": 3 * 1024 * 1024 + 17]
            var contents: [String: [UInt8]] = [:]
            for (name, size) in sizes { contents[name] = try local.writeRandomFile(name, count: size, seed: UInt64(size)) }
            let made = try await gateway.aws(["s3", "mb", "s3://photos"])
            #expect(made.status == 0, "\(made.standardError)")
            for name in sizes.keys {
                let up = try await gateway.aws([
                    "s3", "cp", local.path(name), "s3://photos/2026/\(name).bin", "--content-type", "image/x-test", "--metadata", "origin=\(name)",
                ])
                #expect(up.status == 0, "\(up.standardError)")
                let down = try await gateway.aws(["s3", "cp", "s3://photos/2026/\(name).bin", local.path("\(name).back")])
                #expect(down.status == 0, "\(down.standardError)")
                #expect(try FileSystem.contents(of: local.path("\(name).back")) == contents[name], "\(name)")
            }
            let head = try await gateway.aws(["s3api", "head-object", "--bucket", "photos", "--key", "2026/big.bin"])
            #expect(head.status == 0, "\(head.standardError)")
            #expect(head.standardOutput.contains("\"ContentLength\": \(sizes["big"]!)"), "\(head.standardOutput)")
            #expect(head.standardOutput.contains("\"ContentType\": \"image/x-test\""), "\(head.standardOutput)")
            #expect(head.standardOutput.contains("\"origin\": \"big\""), "\(head.standardOutput)")
            // The object is a file of the cluster, at the path its key names.
            let info = try await gateway.cluster.client.stat(try DFSPath("/photos/2026/big.bin")).info
            #expect(info.size == sizes["big"]! && info.etag?.count == 32)

            let missing = try await gateway.aws(["s3api", "head-object", "--bucket", "photos", "--key", "nothing"])
            #expect(missing.status != 0 && missing.standardError.contains("404"), "\(missing.standardError)")
            for name in sizes.keys {
                let removed = try await gateway.aws(["s3", "rm", "s3://photos/2026/\(name).bin"])
                #expect(removed.status == 0, "\(removed.standardError)")
            }
            let bucketGone = try await gateway.aws(["s3", "rb", "s3://photos"])
            #expect(bucketGone.status == 0, "\(bucketGone.standardError)")
            await #expect(throws: DFSError.self) { try await gateway.cluster.client.stat(try DFSPath("/photos")) }
        }
    }

    /// A wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId, and
    /// nothing is written.
    @Test func wrongCredentialsAreRefused() async throws {
        try await TestGateway.with { gateway in
            _ = try await gateway.aws(["s3", "mb", "s3://safe"])
            try FileSystem.write(Array("x".utf8), to: gateway.folder.path("x"))
            let wrong = try await gateway.aws(
                ["s3", "cp", gateway.folder.path("x"), "s3://safe/x"], environment: ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
            #expect(wrong.status != 0 && wrong.standardError.contains("SignatureDoesNotMatch"), "\(wrong.standardError)")
            let unknown = try await gateway.aws(["s3", "cp", gateway.folder.path("x"), "s3://safe/x"], environment: ["AWS_ACCESS_KEY_ID": "nobody"])
            #expect(unknown.status != 0 && unknown.standardError.contains("InvalidAccessKeyId"), "\(unknown.standardError)")
            await #expect(throws: DFSError.self) { try await gateway.cluster.client.stat(try DFSPath("/safe/x")) }
        }
    }

    /// boto3: ranged GETs at and across block boundaries, If-None-Match, copy_object with its
    /// metadata, delete_objects, presigned GET and PUT used with curl, and a presigned URL
    /// refused once expired.
    @Test func boto3RangesCopiesDeletesAndPresignedURLs() async throws {
        try await TestGateway.with(blockBytes: 1024 * 1024) { gateway in
            let result = try await gateway.python(
                """
                import random, subprocess, urllib.request, urllib.error
                random.seed(7)
                data = bytes(random.getrandbits(8) for _ in range(2 * 1024 * 1024 + 300))
                s3.create_bucket(Bucket="bkt")
                put = s3.put_object(Bucket="bkt", Key="dir/obj", Body=data, ContentType="application/x-test", Metadata={"k": "v"})
                import hashlib
                assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), put["ETag"]
                M = 1024 * 1024
                for first, last in [(0, 0), (M - 1, M), (M, M), (M - 5, 2 * M + 4), (2 * M + 299, 2 * M + 299), (100, 2 * M + 1000)]:
                    got = s3.get_object(Bucket="bkt", Key="dir/obj", Range="bytes=%d-%d" % (first, last))
                    body = got["Body"].read()
                    assert body == data[first:last + 1], (first, last, len(body))
                    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
                suffix = s3.get_object(Bucket="bkt", Key="dir/obj", Range="bytes=-10")["Body"].read()
                assert suffix == data[-10:]
                try:
                    s3.get_object(Bucket="bkt", Key="dir/obj", Range="bytes=%d-" % (len(data) + 5))
                    raise SystemExit("a range past the end was served")
                except botocore.exceptions.ClientError as error:
                    assert error.response["Error"]["Code"] == "InvalidRange", error.response
                try:
                    s3.get_object(Bucket="bkt", Key="dir/obj", IfNoneMatch=put["ETag"])
                    raise SystemExit("If-None-Match with the current ETag was served")
                except botocore.exceptions.ClientError as error:
                    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 304, error.response

                s3.copy_object(Bucket="bkt", Key="copy", CopySource={"Bucket": "bkt", "Key": "dir/obj"})
                copied = s3.get_object(Bucket="bkt", Key="copy")
                assert copied["Body"].read() == data
                assert copied["ContentType"] == "application/x-test" and copied["Metadata"] == {"k": "v"}, copied
                for key in ["d1", "d2", "d3"]:
                    s3.put_object(Bucket="bkt", Key=key, Body=b"x")
                deleted = s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "d1"}, {"Key": "d2"}, {"Key": "never"}]})
                assert sorted(d["Key"] for d in deleted["Deleted"]) == ["d1", "d2", "never"], deleted
                try:
                    s3.head_object(Bucket="bkt", Key="d1")
                    raise SystemExit("a deleted object is still there")
                except botocore.exceptions.ClientError as error:
                    assert error.response["Error"]["Code"] == "404", error.response
                s3.head_object(Bucket="bkt", Key="d3")

                url = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "dir/obj"}, ExpiresIn=3600)
                fetched = subprocess.run(["curl", "-sf", url], capture_output=True)
                assert fetched.returncode == 0 and fetched.stdout == data, fetched.returncode
                put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": "presigned"}, ExpiresIn=3600)
                sent = subprocess.run(["curl", "-sf", "-X", "PUT", "--data-binary", "hello presigned", put_url], capture_output=True)
                assert sent.returncode == 0, sent
                assert s3.get_object(Bucket="bkt", Key="presigned")["Body"].read() == b"hello presigned"
                short = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "dir/obj"}, ExpiresIn=60)
                print("SHORT " + short)
                """)
            #expect(result.status == 0, "\(result.standardError)\(result.standardOutput)")
            // The gateway's clock moves two hours on: the 60-second URL is refused.
            let line = try #require(result.standardOutput.split(separator: "\n").first(where: { $0.hasPrefix("SHORT ") }))
            gateway.clockOffset.withLock { $0 = 7200 }
            let expired = try await Subprocess.run("/bin/sh", ["-c", "curl -s \"$0\"", String(line.dropFirst(6))])
            #expect(expired.standardOutput.contains("<Code>AccessDenied</Code>"), "\(expired.standardOutput)")
        }
    }
    /// Bad input gets S3's errors and leaves nothing half-written: malformed XML, a body whose
    /// SHA-256 or Content-MD5 does not match, a body shorter than its Content-Length (the
    /// connection closed midway), a header past the size limit; the gateway serves on.
    @Test func badInputIsRefusedAndNothingHalfWrittenShows() async throws {
        try await TestGateway.with { gateway in
            let result = try await gateway.python(
                """
                import base64, hashlib, http.client, socket, urllib.parse
                from botocore.auth import S3SigV4Auth
                from botocore.awsrequest import AWSRequest
                from botocore.credentials import Credentials
                url = urllib.parse.urlparse(os.environ["S3_URL"])
                credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
                def signed(method, path, body=b"", headers=None, payload_hash=None):
                    request = AWSRequest(method=method, url=os.environ["S3_URL"] + path, data=body, headers=dict(headers or {}))
                    if payload_hash:
                        request.headers["X-Amz-Content-SHA256"] = payload_hash
                    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
                    return dict(request.headers.items())
                def send(method, path, body=b"", headers=None, payload_hash=None, signed_body=None):
                    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                    signature = signed(method, path, body if signed_body is None else signed_body, headers, payload_hash)
                    connection.request(method, path, body=body, headers=signature)
                    response = connection.getresponse()
                    return response.status, response.read().decode()
                def missing(key):
                    try:
                        s3.head_object(Bucket="bad", Key=key)
                        return False
                    except botocore.exceptions.ClientError as error:
                        return error.response["Error"]["Code"] == "404"
                s3.create_bucket(Bucket="bad")

                status, body = send("POST", "/bad?delete", b"<Delete><Object><Key>x</Key></Object>")
                assert status == 400 and "<Code>MalformedXML</Code>" in body, (status, body)

                # Signed with the SHA-256 of another body of the same length.
                status, body = send("PUT", "/bad/sha", b"the real body", signed_body=b"another body!")
                assert status == 400 and "XAmzContentSHA256Mismatch" in body, (status, body)
                assert missing("sha")

                wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
                status, body = send("PUT", "/bad/md5", b"payload", headers={"Content-MD5": wrong_md5})
                assert status == 400 and "<Code>BadDigest</Code>" in body, (status, body)
                assert missing("md5")

                # Announce 100,000 bytes, send 10, close: nothing may appear.
                headers = signed("PUT", "/bad/short", b"", {"Content-Length": "100000"}, payload_hash="UNSIGNED-PAYLOAD")
                headers["Content-Length"] = "100000"
                raw = socket.create_connection((url.hostname, url.port))
                head = "PUT /bad/short HTTP/1.1\\r\\n" + "".join("%s: %s\\r\\n" % item for item in headers.items()) + "\\r\\n"
                raw.sendall(head.encode() + b"0123456789")
                raw.shutdown(socket.SHUT_WR)
                raw.recv(65536)
                raw.close()
                assert missing("short")

                # A header far past the limit: refused, and the gateway goes on serving.
                connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                connection.request("GET", "/", headers={"X-Huge": "x" * 200000})
                try:
                    status = connection.getresponse().status
                    assert status in (400, 431), status
                except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                    pass
                assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["bad"]
                s3.put_object(Bucket="bad", Key="fine", Body=b"ok")
                assert s3.get_object(Bucket="bad", Key="fine")["Body"].read() == b"ok"
                """)
            #expect(result.status == 0, "\(result.standardError)\(result.standardOutput)")
            // The staging folder holds nothing of the refused bodies.
            try await eventually("the staging folder is empty") { try FileSystem.contentsOfFolder(gateway.folder.path("staging")).isEmpty }
        }
    }
}
