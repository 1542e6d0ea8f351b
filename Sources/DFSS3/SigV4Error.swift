/// Why a request's authentication was refused; each case maps to the S3 error a client expects.
public enum S3AuthError: Error, Equatable, Sendable {
    /// No `Authorization` header and no `X-Amz-Algorithm` query parameter.
    case missing
    /// The `Authorization` header cannot be read (`AuthorizationHeaderMalformed`).
    case malformed(String)
    /// The presigned URL's query parameters cannot be read (`AuthorizationQueryParametersError`).
    case malformedQuery(String)
    case unknownAccessKey
    case signatureDoesNotMatch
    case requestTimeTooSkewed
    /// A presigned URL past its expiry.
    case expired
    /// Line `line` (from 1) of a credentials file is not `ACCESS_KEY SECRET_KEY`.
    case malformedCredentials(line: Int)

    /// The S3 error code to send.
    public var code: String {
        switch self {
        case .missing, .expired: "AccessDenied"
        case .malformed: "AuthorizationHeaderMalformed"
        case .malformedQuery: "AuthorizationQueryParametersError"
        case .unknownAccessKey: "InvalidAccessKeyId"
        case .signatureDoesNotMatch: "SignatureDoesNotMatch"
        case .requestTimeTooSkewed: "RequestTimeTooSkewed"
        case .malformedCredentials: "InvalidCredentialsFile"
        }
    }

    /// The message to send with ``code``.
    public var message: String {
        switch self {
        case .missing: "Access Denied: the request is not signed."
        case .malformed(let detail): "The authorization header is malformed: \(detail)"
        case .malformedQuery(let detail): "The authorization query parameters are malformed: \(detail)"
        case .unknownAccessKey: "The AWS Access Key Id you provided does not exist in our records."
        case .signatureDoesNotMatch:
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        case .requestTimeTooSkewed: "The difference between the request time and the current time is too large."
        case .expired: "Request has expired"
        case .malformedCredentials(let line): "Line \(line) of the credentials file is not an `ACCESS_KEY SECRET_KEY` pair."
        }
    }
}
