import Crypto
import DFSCore
import DFSHTTP
import Foundation

/// The bytes of an object in an S3 request's body, as its payload mode carries them: plain
/// (the body is the object, its SHA-256 checked when the signature covers it), or aws-chunked
/// (each chunk's signature and the trailer's checksum checked by ``AWSChunkedDecoder``). The
/// object's MD5 (its ETag) is computed as the bytes pass, and `Content-MD5` and
/// `x-amz-checksum-*` headers sent with it are checked at the end. Nothing is buffered beyond
/// one piece: the caller writes each piece where it goes and calls ``finish()``, which throws
/// the S3 error a client should get when the bytes are not what was announced.
struct S3RequestBody {
    private let body: HTTPRequestBody
    private let payload: SigV4Payload
    private var decoder: AWSChunkedDecoder?
    private var sha256: SHA256?
    private var md5 = Insecure.MD5()
    private var checksum: (algorithm: S3ChecksumAlgorithm, expected: String, running: S3Checksum)?
    private let contentMD5: [UInt8]?
    private(set) var byteCount = 0
    /// The object's length as announced: `x-amz-decoded-content-length` for aws-chunked,
    /// `Content-Length` otherwise; nil when neither was sent (a chunked transfer).
    let declaredLength: Int?

    init(_ request: HTTPRequest, verified: SigV4Verified) throws(S3Error) {
        body = request.body
        payload = verified.payload
        let headers = request.headers
        if let md5 = headers["content-md5"] {
            guard let bytes = Data(base64Encoded: md5), bytes.count == 16 else { throw .invalidDigest() }
            contentMD5 = Array(bytes)
        } else {
            contentMD5 = nil
        }
        for algorithm in [S3ChecksumAlgorithm.crc32, .crc32c, .sha1, .sha256] {
            if let expected = headers[algorithm.headerName] {
                checksum = (algorithm, expected, S3Checksum(algorithm))
                break
            }
        }
        switch payload {
        case .sha256: sha256 = SHA256()
        case .unsigned: break
        case .streamingSigned, .streamingUnsignedTrailer:
            let decoded = headers["x-amz-decoded-content-length"].flatMap { Int($0) }
            guard let decoded, decoded >= 0 else {
                throw .missingContentLength("aws-chunked uploads must send x-amz-decoded-content-length")
            }
            var trailer: S3ChecksumAlgorithm?
            if let name = headers["x-amz-trailer"] {
                guard let algorithm = S3ChecksumAlgorithm(headerName: name.lowercased()) else {
                    throw .invalidRequest("the trailer \(name.prefix(64)) is not a checksum this gateway knows")
                }
                trailer = algorithm
            }
            decoder = AWSChunkedDecoder(signing: verified.chunkSigning, trailerChecksum: trailer, decodedLength: decoded)
        }
        declaredLength = decoder != nil ? headers["x-amz-decoded-content-length"].flatMap { Int($0) } : body.declaredLength
    }

    /// The next bytes of the object, nil at its end (then call ``finish()``).
    mutating func next() async throws -> [UInt8]? {
        while true {
            let piece: [UInt8]?
            do {
                piece = try await body.read()
            } catch let error as HTTPError {
                throw S3Error.incompleteBody("the body ended early or did not arrive in time: \(error.message)")
            }
            guard let piece else { return nil }
            var bytes = piece
            if decoder != nil {
                do {
                    bytes = try decoder!.feed(piece)
                } catch {
                    throw Self.s3Error(error)
                }
                if bytes.isEmpty { continue }
            }
            byteCount += bytes.count
            sha256?.update(data: bytes)
            md5.update(data: bytes)
            checksum?.running.update(bytes)
            return bytes
        }
    }

    /// Checks what the whole object must match; returns its MD5 in hex (the ETag).
    mutating func finish() throws(S3Error) -> String {
        if decoder != nil {
            do {
                try decoder!.finish()
            } catch {
                throw Self.s3Error(error)
            }
        } else if let declaredLength, byteCount != declaredLength {
            throw .incompleteBody()
        }
        if case .sha256(let expected) = payload, let sha256 {
            let computed = Hex.encode(Array(sha256.finalize()))
            guard computed == expected.lowercased() else { throw .xAmzContentSHA256Mismatch(clientSHA256: expected, computedSHA256: computed) }
        }
        let digest = Array(md5.finalize())
        if let contentMD5, contentMD5 != digest { throw .badDigest() }
        if let checksum, checksum.running.base64() != checksum.expected {
            throw .badDigest("The \(checksum.algorithm.headerName) you specified did not match the calculated checksum.")
        }
        return Hex.encode(digest)
    }

    private static func s3Error(_ error: S3ChunkError) -> S3Error {
        switch error {
        case .signatureDoesNotMatch:
            S3Error(code: "SignatureDoesNotMatch", status: .forbidden, message: error.message)
        default:
            S3Error(code: error.code, status: .badRequest, message: error.message)
        }
    }
}
