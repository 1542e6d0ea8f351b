import DFSClient
import DFSCore
import DFSHTTP
import Foundation

extension S3Gateway {
    /// The owner every bucket shows: the gateway has one namespace, shared by its keys.
    static let owner = S3Owner(id: "dfs", displayName: "dfs")

    /// Bodies of bucket requests (CreateBucketConfiguration, Delete): S3 documents of at most
    /// a thousand keys.
    static let xmlBodyBytesMax = 2 * 1024 * 1024

    static func xml(_ bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/xml"], body: .bytes(bytes))
    }

    /// ListBuckets: the top-level folders whose names are bucket names.
    func listBuckets() async throws -> HTTPResponse {
        var buckets: [S3BucketEntry] = []
        _ = try await client.listPages(.root) { page in
            for entry in page where entry.type == .dir && (try? ObjectName.validateBucket(entry.path.name)) != nil {
                buckets.append(S3BucketEntry(name: entry.path.name, creationDate: Date(timeIntervalSince1970: entry.mtime)))
            }
        }
        return Self.xml(S3Documents.listAllMyBuckets(owner: Self.owner, buckets: buckets))
    }

    func headBucket(_ bucket: String) async throws -> HTTPResponse {
        _ = try await bucketFolder(bucket)
        return HTTPResponse(status: .ok, headers: ["x-amz-bucket-region": options.region])
    }

    func bucketLocation(_ bucket: String) async throws -> HTTPResponse {
        _ = try await bucketFolder(bucket)
        return Self.xml(S3Documents.locationConstraint(options.region == "us-east-1" ? nil : options.region))
    }

    /// CreateBucket: a new top-level folder; one that exists is BucketAlreadyOwnedByYou (every
    /// key of this gateway owns every bucket). A CreateBucketConfiguration body is checked and
    /// its region accepted.
    func createBucket(_ bucket: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let folder = try Self.bucketPath(bucket)
        let body = try await Self.collect(request, maxBytes: Self.xmlBodyBytesMax)
        _ = try CreateBucketConfiguration.parse(body)
        do {
            let existing = try await client.stat(folder).info
            throw existing.type == .dir
                ? S3Error.bucketAlreadyOwnedByYou(bucket)
                : S3Error(code: "BucketAlreadyExists", status: .conflict, message: "\(bucket) is taken by a file of the namespace")
        } catch let error as DFSError where error.code == .notFound {}
        try await client.makeDirectory(folder)
        return HTTPResponse(status: .ok, headers: ["Location": "/\(bucket)"])
    }

    /// DeleteBucket: only an empty one (folders left without objects do not count: S3 has no
    /// folders, so a bucket whose objects were all deleted is empty).
    func deleteBucket(_ bucket: String) async throws -> HTTPResponse {
        let folder = try await bucketFolder(bucket)
        guard try await !holdsAnyFile(folder) else { throw S3Error.bucketNotEmpty(bucket) }
        try await client.remove(folder, recursive: true)
        return HTTPResponse(status: .noContent)
    }

    /// True when some file or link lies under `folder`, at any depth.
    func holdsAnyFile(_ folder: DFSPath) async throws -> Bool {
        let client = self.client
        return try await S3Listing.holds(
            under: folder, pages: { try await client.listPage($0, after: $1, limit: $2) }, foldersMax: Self.emptyCheckFoldersMax
        ) { $0.type != .dir }
    }

    /// Folders an emptiness check reads at most before it calls the bucket not empty.
    static let emptyCheckFoldersMax = 10_000

    /// The whole body of a small request, as S3 errors.
    static func collect(_ request: HTTPRequest, maxBytes: Int) async throws -> [UInt8] {
        do {
            return try await request.body.collect(maxBytes: maxBytes)
        } catch let error as HTTPError {
            if error.status == .contentTooLarge { throw S3Error.entityTooLarge("the request body is larger than \(maxBytes) bytes") }
            throw S3Error.incompleteBody(error.message)
        }
    }
}
