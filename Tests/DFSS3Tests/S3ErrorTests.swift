import DFSHTTP
import Testing

@testable import DFSS3

@Suite struct S3ErrorTests {
    /// Every constructor, with the code and status S3 documents for it.
    @Test func constructorsCarryS3sCodesAndStatuses() {
        let cases: [(S3Error, String, Int)] = [
            (.accessDenied(), "AccessDenied", 403), (.invalidAccessKeyID("AKIA"), "InvalidAccessKeyId", 403),
            (.signatureDoesNotMatch(), "SignatureDoesNotMatch", 403),
            (.requestTimeTooSkewed(requestTime: "20261201T084500Z", serverTime: "2026-12-01T09:45:00.000Z"), "RequestTimeTooSkewed", 403),
            (.authorizationHeaderMalformed(), "AuthorizationHeaderMalformed", 400),
            (.authorizationQueryParametersError(), "AuthorizationQueryParametersError", 400), (.noSuchBucket("b"), "NoSuchBucket", 404),
            (.noSuchKey("k"), "NoSuchKey", 404), (.noSuchUpload("u"), "NoSuchUpload", 404),
            (.bucketAlreadyOwnedByYou("b"), "BucketAlreadyOwnedByYou", 409), (.bucketNotEmpty("b"), "BucketNotEmpty", 409),
            (.invalidBucketName("B"), "InvalidBucketName", 400), (.invalidArgument("x"), "InvalidArgument", 400),
            (.invalidRange(), "InvalidRange", 416), (.malformedXML(), "MalformedXML", 400), (.invalidPart(), "InvalidPart", 400),
            (.invalidPartOrder(), "InvalidPartOrder", 400), (.entityTooSmall(), "EntityTooSmall", 400), (.entityTooLarge(), "EntityTooLarge", 400),
            (.badDigest(), "BadDigest", 400), (.invalidDigest(), "InvalidDigest", 400),
            (.xAmzContentSHA256Mismatch(clientSHA256: "a", computedSHA256: "b"), "XAmzContentSHA256Mismatch", 400),
            (.incompleteBody(), "IncompleteBody", 400), (.missingContentLength(), "MissingContentLength", 411),
            (.notImplemented(), "NotImplemented", 501), (.preconditionFailed(), "PreconditionFailed", 412),
            (.methodNotAllowed(method: "PATCH", resourceType: "OBJECT"), "MethodNotAllowed", 405), (.keyTooLong(), "KeyTooLongError", 400),
            (.requestTimeout(), "RequestTimeout", 400), (.internalError(), "InternalError", 500), (.slowDown(), "SlowDown", 503),
            (.invalidRequest("x"), "InvalidRequest", 400),
        ]
        #expect(cases.count == 32)
        for (error, code, status) in cases {
            #expect(error.code == code)
            #expect(error.status.code == status, "\(code)")
            #expect(!error.message.isEmpty)
            #expect(error.resource == nil)
        }
        #expect(Set(cases.map(\.1)).count == cases.count)
        #expect(S3Error.preconditionFailed().status.reasonPhrase == "Precondition Failed")
    }

    @Test func extraFieldsNameWhatTheErrorConcerns() {
        #expect(S3Error.noSuchBucket("photos").fields == [S3Error.Field("BucketName", "photos")])
        #expect(S3Error.noSuchUpload("u1").fields == [S3Error.Field("UploadId", "u1")])
        #expect(
            S3Error.invalidRange(requested: "bytes=10-", objectSize: 5).fields == [
                S3Error.Field("RangeRequested", "bytes=10-"), S3Error.Field("ActualObjectSize", "5"),
            ])
        #expect(S3Error.preconditionFailed(condition: "If-Match").fields == [S3Error.Field("Condition", "If-Match")])
        #expect(S3Error.invalidArgument("x").fields.isEmpty)
        #expect(S3Error.noSuchKey("k").description == "NoSuchKey (404): The specified key does not exist.")
    }

    @Test func responseCarriesTheErrorDocument() throws {
        let response = S3Error.noSuchBucket("photos").with(resource: "/photos").response(requestID: "0A1B2C3D")
        #expect(response.status == .notFound)
        #expect(response.headers["Content-Type"] == "application/xml")
        #expect(response.headers["x-amz-request-id"] == "0A1B2C3D")
        guard case .bytes(let body) = response.body else {
            Issue.record("the body is not bytes")
            return
        }
        let expected =
            #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"#
            + "<BucketName>photos</BucketName><Resource>/photos</Resource><RequestId>0A1B2C3D</RequestId></Error>"
        #expect(String(decoding: body, as: UTF8.self) == expected)
        let root = try XMLReader.parse(body)
        #expect(root.child("Code")?.text == "NoSuchBucket")
    }

    @Test func responseToHeadHasNoBody() {
        let response = S3Error.noSuchKey("k").response(requestID: "r", head: true)
        #expect(response.status == .notFound)
        #expect(response.headers["x-amz-request-id"] == "r")
        guard case .bytes(let body) = response.body else {
            Issue.record("the body is not bytes")
            return
        }
        #expect(body.isEmpty)
    }
}
