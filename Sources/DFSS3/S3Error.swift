import DFSHTTP

/// An error as S3 reports it: a code clients switch on (`NoSuchKey`), the HTTP status it comes
/// with, a message for people, and the resource it concerns. `fields` are the extra elements
/// S3 adds to some errors' documents (`Key`, `BucketName`, `UploadId`, `ArgumentName`), in order.
///
/// The codes and statuses are S3's own (its "Error responses" list); clients retry, give up
/// or create a bucket by them, so they are never invented here.
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var status: HTTPStatus
    public var message: String
    public var resource: String?
    public var fields: [Field]

    /// One extra element of the error document.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(code: String, status: HTTPStatus, message: String, resource: String? = nil, fields: [Field] = []) {
        self.code = code
        self.status = status
        self.message = message
        self.resource = resource
        self.fields = fields
    }

    public var description: String { "\(code) (\(status.code)): \(message)" }

    /// This error with `resource` set, as a handler adds it once it knows the request path.
    public func with(resource: String) -> S3Error {
        var copy = self
        copy.resource = resource
        return copy
    }

    /// The response S3 sends for this error: the Error document as `application/xml` with
    /// the request's id in `x-amz-request-id`; for a HEAD request, the same status and
    /// headers with no body (S3 sends none, and clients read the status alone).
    public func response(requestID: String, head: Bool = false) -> HTTPResponse {
        var headers: HTTPHeaders = ["x-amz-request-id": requestID]
        if head { return HTTPResponse(status: status, headers: headers, body: .empty) }
        headers.add("Content-Type", "application/xml")
        return HTTPResponse(status: status, headers: headers, body: .bytes(S3Documents.error(self, requestID: requestID)))
    }
}

/// One constructor per code the gateway sends, with S3's own default message.
extension S3Error {
    static let preconditionFailedStatus = HTTPStatus(code: 412)
    static let slowDownStatus = HTTPStatus(code: 503, reasonPhrase: "Slow Down")

    // MARK: Authentication

    public static func accessDenied(_ message: String = "Access Denied") -> S3Error {
        S3Error(code: "AccessDenied", status: .forbidden, message: message)
    }

    public static func invalidAccessKeyID(_ accessKeyID: String) -> S3Error {
        S3Error(
            code: "InvalidAccessKeyId", status: .forbidden, message: "The AWS Access Key Id you provided does not exist in our records.",
            fields: [Field("AWSAccessKeyId", accessKeyID)])
    }

    public static func signatureDoesNotMatch(
        _ message: String = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    ) -> S3Error {
        S3Error(code: "SignatureDoesNotMatch", status: .forbidden, message: message)
    }

    /// `requestTime` as the client sent it; `serverTime` in ISO 8601 (``S3Time/iso8601(_:)``).
    public static func requestTimeTooSkewed(requestTime: String, serverTime: String, maxSkewMilliseconds: Int = 900_000) -> S3Error {
        S3Error(
            code: "RequestTimeTooSkewed", status: .forbidden, message: "The difference between the request time and the current time is too large.",
            fields: [Field("RequestTime", requestTime), Field("ServerTime", serverTime), Field("MaxAllowedSkewMilliseconds", String(maxSkewMilliseconds))])
    }

    public static func authorizationHeaderMalformed(_ message: String = "The authorization header that you provided is not valid.") -> S3Error {
        S3Error(code: "AuthorizationHeaderMalformed", status: .badRequest, message: message)
    }

    public static func authorizationQueryParametersError(_ message: String = "The authorization query parameters that you provided are not valid.")
        -> S3Error
    {
        S3Error(code: "AuthorizationQueryParametersError", status: .badRequest, message: message)
    }

    // MARK: Buckets, keys and uploads

    public static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error(code: "NoSuchBucket", status: .notFound, message: "The specified bucket does not exist", fields: [Field("BucketName", bucket)])
    }

    public static func noSuchKey(_ key: String) -> S3Error {
        S3Error(code: "NoSuchKey", status: .notFound, message: "The specified key does not exist.", fields: [Field("Key", key)])
    }

    public static func noSuchUpload(_ uploadID: String) -> S3Error {
        S3Error(
            code: "NoSuchUpload", status: .notFound,
            message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            fields: [Field("UploadId", uploadID)])
    }

    public static func bucketAlreadyOwnedByYou(_ bucket: String) -> S3Error {
        S3Error(
            code: "BucketAlreadyOwnedByYou", status: .conflict,
            message: "Your previous request to create the named bucket succeeded and you already own it.", fields: [Field("BucketName", bucket)])
    }

    public static func bucketNotEmpty(_ bucket: String) -> S3Error {
        S3Error(code: "BucketNotEmpty", status: .conflict, message: "The bucket you tried to delete is not empty", fields: [Field("BucketName", bucket)])
    }

    public static func invalidBucketName(_ bucket: String, _ message: String = "The specified bucket is not valid.") -> S3Error {
        S3Error(code: "InvalidBucketName", status: .badRequest, message: message, fields: [Field("BucketName", bucket)])
    }

    public static func keyTooLong(_ message: String = "Your key is too long") -> S3Error {
        S3Error(code: "KeyTooLongError", status: .badRequest, message: message)
    }

    // MARK: Arguments and bodies

    /// `argumentName` and `argumentValue` name what was wrong, as S3 does (`partNumber`, `0`).
    public static func invalidArgument(_ message: String, argumentName: String? = nil, argumentValue: String? = nil) -> S3Error {
        var fields: [Field] = []
        if let argumentName { fields.append(Field("ArgumentName", argumentName)) }
        if let argumentValue { fields.append(Field("ArgumentValue", argumentValue)) }
        return S3Error(code: "InvalidArgument", status: .badRequest, message: message, fields: fields)
    }

    public static func invalidRange(requested: String? = nil, objectSize: Int? = nil) -> S3Error {
        var fields: [Field] = []
        if let requested { fields.append(Field("RangeRequested", requested)) }
        if let objectSize { fields.append(Field("ActualObjectSize", String(objectSize))) }
        return S3Error(code: "InvalidRange", status: .rangeNotSatisfiable, message: "The requested range is not satisfiable", fields: fields)
    }

    public static func malformedXML(
        _ message: String = "The XML you provided was not well-formed or did not validate against our published schema"
    ) -> S3Error {
        S3Error(code: "MalformedXML", status: .badRequest, message: message)
    }

    public static func invalidPart(
        _ message: String =
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
    ) -> S3Error {
        S3Error(code: "InvalidPart", status: .badRequest, message: message)
    }

    public static func invalidPartOrder(
        _ message: String = "The list of parts was not in ascending order. The parts list must be specified in order by part number."
    ) -> S3Error {
        S3Error(code: "InvalidPartOrder", status: .badRequest, message: message)
    }

    public static func entityTooSmall(_ message: String = "Your proposed upload is smaller than the minimum allowed object size.") -> S3Error {
        S3Error(code: "EntityTooSmall", status: .badRequest, message: message)
    }

    public static func entityTooLarge(_ message: String = "Your proposed upload exceeds the maximum allowed object size.") -> S3Error {
        S3Error(code: "EntityTooLarge", status: .badRequest, message: message)
    }

    public static func badDigest(_ message: String = "The Content-MD5 you specified did not match what we received.") -> S3Error {
        S3Error(code: "BadDigest", status: .badRequest, message: message)
    }

    public static func invalidDigest(_ message: String = "The Content-MD5 you specified is not valid.") -> S3Error {
        S3Error(code: "InvalidDigest", status: .badRequest, message: message)
    }

    public static func xAmzContentSHA256Mismatch(clientSHA256: String, computedSHA256: String) -> S3Error {
        S3Error(
            code: "XAmzContentSHA256Mismatch", status: .badRequest, message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
            fields: [Field("ClientComputedContentSHA256", clientSHA256), Field("S3ComputedContentSHA256", computedSHA256)])
    }

    public static func incompleteBody(_ message: String = "You did not provide the number of bytes specified by the Content-Length HTTP header.")
        -> S3Error
    {
        S3Error(code: "IncompleteBody", status: .badRequest, message: message)
    }

    public static func missingContentLength(_ message: String = "You must provide the Content-Length HTTP header.") -> S3Error {
        S3Error(code: "MissingContentLength", status: .lengthRequired, message: message)
    }

    public static func invalidRequest(_ message: String) -> S3Error {
        S3Error(code: "InvalidRequest", status: .badRequest, message: message)
    }

    // MARK: Conditions, methods and the server

    public static func notImplemented(_ message: String = "A header you provided implies functionality that is not implemented.") -> S3Error {
        S3Error(code: "NotImplemented", status: .notImplemented, message: message)
    }

    /// `condition` names the header that did not hold (`If-Match`).
    public static func preconditionFailed(condition: String? = nil) -> S3Error {
        S3Error(
            code: "PreconditionFailed", status: preconditionFailedStatus, message: "At least one of the pre-conditions you specified did not hold",
            fields: condition.map { [Field("Condition", $0)] } ?? [])
    }

    public static func methodNotAllowed(method: String, resourceType: String) -> S3Error {
        S3Error(
            code: "MethodNotAllowed", status: .methodNotAllowed, message: "The specified method is not allowed against this resource.",
            fields: [Field("Method", method), Field("ResourceType", resourceType)])
    }

    public static func requestTimeout(
        _ message: String = "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."
    ) -> S3Error {
        S3Error(code: "RequestTimeout", status: .badRequest, message: message)
    }

    public static func internalError(_ message: String = "We encountered an internal error. Please try again.") -> S3Error {
        S3Error(code: "InternalError", status: .internalServerError, message: message)
    }

    public static func slowDown(_ message: String = "Please reduce your request rate.") -> S3Error {
        S3Error(code: "SlowDown", status: slowDownStatus, message: message)
    }
}
