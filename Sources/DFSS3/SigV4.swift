import Crypto
import Foundation

/// Verifies AWS Signature Version 4 as S3 checks it, from the `Authorization` header or from a
/// presigned URL's query parameters.
///
/// Any region in the credential scope is accepted (clients default to `us-east-1`, and a
/// gateway has no region of its own); the service must be `s3`.
public enum SigV4 {
    /// How far a header-signed request's time may be from ours, either way, as S3 allows.
    public static let clockSkewMax = 15 * 60
    /// The longest life of a presigned URL, seven days, as S3 allows.
    public static let presignedExpiryMax = 604_800
    /// Longest path or query checked. A request line is bounded by the HTTP server already;
    /// this keeps the verifier's own work bounded whoever calls it.
    public static let requestTargetBytesMax = 64 * 1024
    /// Most signed headers: clients sign a dozen at most.
    public static let signedHeadersMax = 64

    /// Checks header auth (`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
    /// Signature=...`) or query auth (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
    /// `X-Amz-Expires` of at most ``presignedExpiryMax``, `X-Amz-SignedHeaders`, `X-Amz-Signature`).
    ///
    /// Header auth: `X-Amz-Date` (or else `Date`) must be within ``clockSkewMax`` of `now`;
    /// `x-amz-content-sha256` is required, as S3 requires it, and gives the payload mode.
    /// Query auth: `now` must be before date + expires (else ``S3AuthError/expired``) and not
    /// more than ``clockSkewMax`` before the date; the payload is ``SigV4Payload/unsigned``.
    /// Either way `host` must be signed.
    public static func verify(_ request: SigV4Request, credentials: S3Credentials, now: Date) throws(S3AuthError) -> SigV4Verified {
        guard request.rawPath.utf8.count <= requestTargetBytesMax, request.rawQuery.utf8.count <= requestTargetBytesMax else {
            throw .malformed("the request target is longer than \(requestTargetBytesMax) bytes")
        }
        let authorizations = request.values(of: "authorization")
        let parameters = queryParameters(request.rawQuery)
        let isPresigned = parameters.contains { $0.name == Array("X-Amz-Algorithm".utf8) }
        switch (authorizations.count, isPresigned) {
        case (0, false): throw .missing
        case (0, true): return try verifyQuery(request, parameters: parameters, credentials: credentials, now: now)
        case (1, false): return try verifyHeader(request, authorization: authorizations[0], parameters: parameters, credentials: credentials, now: now)
        case (_, false): throw .malformed("the request has more than one Authorization header")
        case (_, true): throw .malformed("the request is signed both in an Authorization header and in its query; only one is allowed")
        }
    }

    /// What a signature claims, from either form.
    private struct Claim {
        var accessKey: String
        var region: String
        var signedHeaders: [String]
        var signature: String
        var amzDate: String
    }

    private static func verifyHeader(
        _ request: SigV4Request, authorization: String, parameters: [(name: [UInt8], value: [UInt8])], credentials: S3Credentials, now: Date
    ) throws(S3AuthError) -> SigV4Verified {
        let algorithm = "AWS4-HMAC-SHA256"
        let trimmed = trimmingHeaderValue(authorization)
        guard trimmed.hasPrefix(algorithm + " ") else {
            throw .malformed("the algorithm must be \(algorithm) (Signature Version 2 and SigV4A are not supported)")
        }
        var fields: [String: String] = [:]
        for component in trimmed.dropFirst(algorithm.count + 1).split(separator: ",") {
            let component = trimmingHeaderValue(String(component))
            guard let equals = component.firstIndex(of: "=") else { throw .malformed("\(component) is not name=value") }
            let name = String(component[..<equals])
            guard ["Credential", "SignedHeaders", "Signature"].contains(name) else { throw .malformed("unknown component \(name)") }
            guard fields[name] == nil else { throw .malformed("\(name) is given twice") }
            fields[name] = String(component[component.index(after: equals)...])
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"] else {
            throw .malformed("Credential, SignedHeaders and Signature are all required")
        }

        let amzDate: String
        let seconds: Int
        if let value = request.value(of: "x-amz-date") {
            guard let parsed = Self.seconds(amzDate: value) else { throw .malformed("X-Amz-Date \(value) is not of the form 20130524T000000Z") }
            (amzDate, seconds) = (value, parsed)
        } else if let value = request.value(of: "date") {
            guard let parsed = Self.seconds(httpDate: value) else { throw .malformed("Date \(value) is not of the form Fri, 24 May 2013 00:00:00 GMT") }
            (amzDate, seconds) = (Self.amzDate(seconds: parsed), parsed)
        } else {
            throw .malformed("the request has neither an X-Amz-Date nor a Date header")
        }

        let claim = try claim(
            credential: credential, signedHeaders: signedHeaders, signature: signature, amzDate: amzDate,
            malformed: S3AuthError.malformed)
        guard let contentHash = request.value(of: "x-amz-content-sha256") else {
            throw .malformed("the x-amz-content-sha256 header is required")
        }
        let payload = try payload(contentHash)

        guard let secretKey = credentials.secretKey(for: claim.accessKey) else { throw .unknownAccessKey }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= Double(clockSkewMax) else { throw .requestTimeTooSkewed }

        let signingKey = try check(
            claim, secretKey: secretKey, request: request, query: canonicalQuery(parameters), payloadHash: contentHash)
        var chunkSigning: ChunkSigning?
        if case .streamingSigned = payload {
            chunkSigning = ChunkSigning(
                signingKey: signingKey, scope: scope(claim), amzDate: claim.amzDate, seedSignature: claim.signature)
        }
        return SigV4Verified(accessKey: claim.accessKey, payload: payload, chunkSigning: chunkSigning)
    }

    private static func verifyQuery(
        _ request: SigV4Request, parameters: [(name: [UInt8], value: [UInt8])], credentials: S3Credentials, now: Date
    ) throws(S3AuthError) -> SigV4Verified {
        func parameter(_ name: String) throws(S3AuthError) -> String {
            let values = parameters.filter { $0.name == Array(name.utf8) }
            guard values.count == 1 else {
                throw .malformedQuery(values.isEmpty ? "the \(name) parameter is required" : "the \(name) parameter is given twice")
            }
            return String(decoding: values[0].value, as: UTF8.self)
        }
        let algorithm = try parameter("X-Amz-Algorithm")
        guard algorithm == "AWS4-HMAC-SHA256" else { throw .malformedQuery("X-Amz-Algorithm must be AWS4-HMAC-SHA256, not \(algorithm)") }
        let amzDate = try parameter("X-Amz-Date")
        guard let seconds = Self.seconds(amzDate: amzDate) else { throw .malformedQuery("X-Amz-Date \(amzDate) is not of the form 20130524T000000Z") }
        let expiresText = try parameter("X-Amz-Expires")
        guard expiresText.utf8.count <= 7, expiresText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let expires = Int(expiresText), (1...presignedExpiryMax).contains(expires)
        else { throw .malformedQuery("X-Amz-Expires must be a number of seconds from 1 to \(presignedExpiryMax), not \(expiresText)") }

        let claim = try claim(
            credential: try parameter("X-Amz-Credential"), signedHeaders: try parameter("X-Amz-SignedHeaders"),
            signature: try parameter("X-Amz-Signature"), amzDate: amzDate, malformed: S3AuthError.malformedQuery)

        guard let secretKey = credentials.secretKey(for: claim.accessKey) else { throw .unknownAccessKey }
        let nowSeconds = now.timeIntervalSince1970
        guard nowSeconds < Double(seconds + expires) else { throw .expired }
        guard nowSeconds >= Double(seconds - clockSkewMax) else { throw .requestTimeTooSkewed }

        _ = try check(
            claim, secretKey: secretKey, request: request, query: canonicalQuery(parameters, excluding: "X-Amz-Signature"),
            payloadHash: "UNSIGNED-PAYLOAD")
        return SigV4Verified(accessKey: claim.accessKey, payload: .unsigned, chunkSigning: nil)
    }

    /// Reads the credential scope, signed headers and signature, common to both forms.
    private static func claim(
        credential: String, signedHeaders: String, signature: String, amzDate: String, malformed: (String) -> S3AuthError
    ) throws(S3AuthError) -> Claim {
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard scope.count == 5, !scope[0].isEmpty, !scope[2].isEmpty else {
            throw malformed("the credential \(credential) is not ACCESS_KEY/DATE/REGION/s3/aws4_request")
        }
        guard scope[1] == amzDate.prefix(8) else {
            throw malformed("the credential's date \(scope[1]) is not the request's date \(amzDate.prefix(8))")
        }
        guard scope[3] == "s3" else { throw malformed("the credential's service is \(scope[3]), not s3") }
        guard scope[4] == "aws4_request" else { throw malformed("the credential ends in \(scope[4]), not aws4_request") }

        let names = signedHeaders.split(separator: ";", omittingEmptySubsequences: false).map { $0.lowercased() }
        guard names.count <= signedHeadersMax else { throw malformed("more than \(signedHeadersMax) headers are signed") }
        guard names.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw malformed("SignedHeaders \(signedHeaders) is not a list of names separated by ;")
        }
        guard names.contains("host") else { throw malformed("the host header must be signed") }
        guard isHash(signature) else { throw malformed("the signature is not 64 hex digits") }
        return Claim(
            accessKey: String(scope[0]), region: String(scope[2]), signedHeaders: names, signature: signature.lowercased(),
            amzDate: amzDate)
    }

    /// Throws unless the claimed signature is the one the secret key gives; returns the signing key.
    private static func check(
        _ claim: Claim, secretKey: String, request: SigV4Request, query: String, payloadHash: String
    ) throws(S3AuthError) -> SymmetricKey {
        let signingKey = signingKey(secretKey: secretKey, date: String(claim.amzDate.prefix(8)), region: claim.region)
        for path in canonicalPaths(request.rawPath) {
            let canonical = canonicalRequest(
                method: request.method, path: path, query: query, request: request, signedHeaders: claim.signedHeaders,
                payloadHash: payloadHash)
            let stringToSign = "AWS4-HMAC-SHA256\n\(claim.amzDate)\n\(scope(claim))\n\(sha256Hex(canonical.utf8))"
            if constantTimeEqual(hex(hmac(signingKey, stringToSign)), claim.signature) {
                return signingKey
            }
        }
        throw .signatureDoesNotMatch
    }

    private static func scope(_ claim: Claim) -> String {
        "\(claim.amzDate.prefix(8))/\(claim.region)/s3/aws4_request"
    }

    /// The payload mode an `x-amz-content-sha256` value names.
    static func payload(_ value: String) throws(S3AuthError) -> SigV4Payload {
        switch value {
        case "UNSIGNED-PAYLOAD": return .unsigned
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": return .streamingSigned(trailer: false)
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": return .streamingSigned(trailer: true)
        case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": return .streamingUnsignedTrailer
        default:
            guard isHash(value) else {
                throw .malformed("x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- mode S3 supports, not \(value)")
            }
            return .sha256(value.lowercased())
        }
    }
}
