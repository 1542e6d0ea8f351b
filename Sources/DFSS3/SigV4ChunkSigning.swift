import Crypto

/// What verifies the signatures of an aws-chunked body: each chunk's signature covers the
/// previous signature (the first, the request's own "seed" signature) and the chunk's data.
public struct ChunkSigning: Sendable {
    /// The key's bytes: Crypto's `SymmetricKey` is not Sendable.
    let signingKeyBytes: [UInt8]
    var signingKey: SymmetricKey { SymmetricKey(data: signingKeyBytes) }
    /// `20130524/us-east-1/s3/aws4_request`.
    public let scope: String
    /// The request's timestamp, `20130524T000000Z`.
    public let amzDate: String
    /// The request's signature, which the first chunk's signature continues.
    public let seedSignature: String

    init(signingKey: SymmetricKey, scope: String, amzDate: String, seedSignature: String) {
        self.signingKeyBytes = signingKey.withUnsafeBytes { Array($0) }
        self.scope = scope
        self.amzDate = amzDate
        self.seedSignature = seedSignature
    }

    /// The signing of an upload whose seed signature is already known, for `accessKey`'s
    /// `secretKey` in `region` at `amzDate` (`20130524T000000Z`).
    public init(secretKey: String, region: String, amzDate: String, seedSignature: String) {
        let date = String(amzDate.prefix(8))
        self.init(
            signingKey: SigV4.signingKey(secretKey: secretKey, date: date, region: region),
            scope: "\(date)/\(region)/s3/aws4_request", amzDate: amzDate, seedSignature: seedSignature)
    }

    /// The signature of a chunk whose data hashes to `dataHash` (hex), following `previous`.
    func chunkSignature(previous: String, dataHash: String) -> String {
        let stringToSign = "AWS4-HMAC-SHA256-PAYLOAD\n\(amzDate)\n\(scope)\n\(previous)\n\(SigV4.emptyHash)\n\(dataHash)"
        return SigV4.hex(SigV4.hmac(signingKey, stringToSign))
    }

    /// The signature of the trailer whose canonical form hashes to `trailerHash` (hex),
    /// following the final chunk's signature `previous`.
    func trailerSignature(previous: String, trailerHash: String) -> String {
        let stringToSign = "AWS4-HMAC-SHA256-TRAILER\n\(amzDate)\n\(scope)\n\(previous)\n\(trailerHash)"
        return SigV4.hex(SigV4.hmac(signingKey, stringToSign))
    }
}
