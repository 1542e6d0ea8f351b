import DFSClient
import DFSCore
import DFSHTTP
import Foundation

/// The S3 gateway: answers S3 requests (path-style, and virtual-host style under a domain)
/// with the cluster's namespace through a ``DFSClient``. It keeps no state of its own beyond
/// files being received, so several can serve one cluster behind a load balancer.
///
/// Every request must be signed (Signature V4, header or query) with a key pair of
/// ``S3Credentials``; a bucket is a top-level folder and a key a path under it (see
/// ``ObjectName``). ``handle(_:)`` never throws: every failure becomes S3's XML error.
public final class S3Gateway: Sendable {
    public struct Options: Sendable {
        /// Where objects being received are staged while their blocks go to the cluster.
        public var stagingFolder: String
        /// With a domain (`s3.example.com`), `BUCKET.s3.example.com` names a bucket.
        public var domain: String?
        /// The region named in `GetBucketLocation` and accepted in signatures (any is).
        public var region = "us-east-1"
        /// Block size and replication of objects written.
        public var upload = UploadOptions()
        public init(stagingFolder: String, domain: String? = nil) {
            self.stagingFolder = stagingFolder
            self.domain = domain
        }
    }

    let client: DFSClient
    let credentials: S3Credentials
    let options: Options
    let now: @Sendable () -> Date

    public init(client: DFSClient, credentials: S3Credentials, options: Options, now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.credentials = credentials
        self.options = options
        self.now = now
    }

    /// What a request names: the service, a bucket, or an object.
    enum Resource {
        case service
        case bucket(String)
        case object(bucket: String, key: String)
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let requestID = Self.requestID()
        let isHead = request.method == .head
        do {
            let verified = try authenticate(request)
            var response = try await route(request, verified: verified)
            response.headers.set("x-amz-request-id", requestID)
            return response
        } catch let error as S3Error {
            return error.response(requestID: requestID, head: isHead)
        } catch {
            return S3Error.internalError(DFSError.wrap(error).message).response(requestID: requestID, head: isHead)
        }
    }

    private func route(_ request: HTTPRequest, verified: SigV4Verified) async throws -> HTTPResponse {
        let query = request.head.queryItems ?? []
        func has(_ name: String) -> Bool { query.contains { $0.name == name } }
        switch (try resource(of: request), request.method) {
        case (.service, .get): return try await listBuckets()
        case (.service, _): throw S3Error.methodNotAllowed(method: request.method.rawValue, resourceType: "SERVICE")
        case (.bucket(let bucket), .get) where has("location"): return try await bucketLocation(bucket)
        case (.bucket(let bucket), .get) where has("uploads"):
            _ = try await bucketFolder(bucket)
            throw S3Error.notImplemented("multipart uploads are not served yet")
        case (.bucket(let bucket), .get): return try await listObjects(bucket, request)
        case (.bucket(let bucket), .head): return try await headBucket(bucket)
        case (.bucket(let bucket), .put): return try await createBucket(bucket, request)
        case (.bucket(let bucket), .delete): return try await deleteBucket(bucket)
        case (.bucket(let bucket), .post) where has("delete"): return try await deleteObjects(bucket, request)
        case (.bucket, _): throw S3Error.methodNotAllowed(method: request.method.rawValue, resourceType: "BUCKET")
        case (.object, _) where has("uploads") || has("uploadId"):
            throw S3Error.notImplemented("multipart uploads are not served yet")
        case (.object(let bucket, let key), .put) where request.headers.contains("x-amz-copy-source"):
            return try await copyObject(bucket, key, request)
        case (.object(let bucket, let key), .put): return try await putObject(bucket, key, request, verified: verified)
        case (.object(let bucket, let key), .get): return try await getObject(bucket, key, request, head: false)
        case (.object(let bucket, let key), .head): return try await getObject(bucket, key, request, head: true)
        case (.object(let bucket, let key), .delete): return try await deleteObject(bucket, key)
        case (.object, _): throw S3Error.methodNotAllowed(method: request.method.rawValue, resourceType: "OBJECT")
        }
    }

    /// The bucket and key a request names: from the path (`/bucket/key`), or with a domain
    /// from the Host (`bucket.DOMAIN`) and the path as the key.
    func resource(of request: HTTPRequest) throws(S3Error) -> Resource {
        guard let decoded = request.head.decodedPath, decoded.hasPrefix("/") else {
            throw S3Error.invalidRequest("the request path is not a valid percent-encoded path")
        }
        var path = decoded.dropFirst()
        var bucket: String?
        if let domain = options.domain, let host = request.headers["host"].map({ Self.hostName($0) }), host.hasSuffix("." + domain) {
            bucket = String(host.dropLast(domain.count + 1))
        }
        if bucket == nil {
            guard !path.isEmpty else { return .service }
            let end = path.firstIndex(of: "/") ?? path.endIndex
            bucket = String(path[..<end])
            path = end == path.endIndex ? "" : path[path.index(after: end)...]
        }
        guard let bucket else { return .service }
        if path.isEmpty { return .bucket(bucket) }
        return .object(bucket: bucket, key: String(path))
    }

    private static func hostName(_ host: String) -> String {
        let lowered = host.lowercased()
        if lowered.hasPrefix("[") { return lowered }
        return lowered.split(separator: ":", maxSplits: 1).first.map(String.init) ?? lowered
    }

    private func authenticate(_ request: HTTPRequest) throws(S3Error) -> SigV4Verified {
        let signed = SigV4Request(
            method: request.method.rawValue, rawPath: request.path, rawQuery: request.query ?? "",
            headers: request.headers.map { ($0.name, $0.value) })
        do {
            return try SigV4.verify(signed, credentials: credentials, now: now())
        } catch {
            switch error {
            case .missing, .expired: throw S3Error.accessDenied(error.message)
            case .malformed(let detail): throw S3Error.authorizationHeaderMalformed(detail)
            case .malformedQuery(let detail): throw S3Error.authorizationQueryParametersError(detail)
            case .unknownAccessKey: throw S3Error.invalidAccessKeyID("")
            case .signatureDoesNotMatch: throw S3Error.signatureDoesNotMatch()
            case .requestTimeTooSkewed:
                throw S3Error.requestTimeTooSkewed(
                    requestTime: request.headers["x-amz-date"] ?? request.headers["date"] ?? "", serverTime: S3Time.iso8601(now()))
            case .malformedCredentials: throw S3Error.internalError()
            }
        }
    }

    /// A fresh id for a request's `x-amz-request-id`.
    static func requestID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(format: "%016llX", generator.next() as UInt64)
    }

    // MARK: Paths

    /// The folder of `bucket`, which must exist.
    func bucketFolder(_ bucket: String) async throws -> DFSPath {
        let folder = try Self.bucketPath(bucket)
        do {
            let info = try await client.stat(folder).info
            guard info.type == .dir else { throw S3Error.noSuchBucket(bucket) }
        } catch let error as DFSError where error.code == .notFound {
            throw S3Error.noSuchBucket(bucket)
        }
        return folder
    }

    static func bucketPath(_ bucket: String) throws(S3Error) -> DFSPath {
        do {
            return try ObjectName.bucketPath(bucket)
        } catch {
            switch error {
            case .invalidBucketName(let message): throw S3Error.invalidBucketName(bucket, message)
            case .invalidKey(let message): throw S3Error.invalidArgument(message)
            }
        }
    }

    static func objectPath(_ bucket: String, _ key: String) throws(S3Error) -> DFSPath {
        do {
            return try ObjectName.objectPath(bucket: bucket, key: key)
        } catch {
            switch error {
            case .invalidBucketName(let message): throw S3Error.invalidBucketName(bucket, message)
            case .invalidKey(let message):
                if key.utf8.count > ObjectName.keyBytesMax { throw S3Error.keyTooLong() }
                throw S3Error.invalidArgument(message, argumentName: "key", argumentValue: String(key.prefix(Limits.quotedCharactersMax)))
            }
        }
    }
}
