import DFSClient
import DFSCore
import DFSHTTP
import Foundation

extension S3Gateway {
    /// ListObjectsV2 (`list-type=2`) and ListObjects (v1: rclone's "Other" provider, and
    /// older tools): keys in S3's order (``S3Listing``), with prefix, delimiter, paging by
    /// continuation token or marker, max-keys (at most 1,000) and EncodingType=url.
    func listObjects(_ bucket: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        _ = try await bucketFolder(bucket)
        let head = request.head
        let version2 = head.queryValue("list-type") == "2"
        let prefix = head.queryValue("prefix") ?? ""
        let delimiter = head.queryValue("delimiter").flatMap { $0.isEmpty ? nil : $0 }
        var maxKeys = 1000
        if let text = head.queryValue("max-keys") {
            guard let value = Int(text), value >= 0 else {
                throw S3Error.invalidArgument("max-keys must be a number from 0", argumentName: "max-keys", argumentValue: String(text.prefix(20)))
            }
            maxKeys = min(value, 1000)
        }
        let encoding: S3EncodingType? = head.queryValue("encoding-type") == "url" ? .url : nil
        if let other = head.queryValue("encoding-type"), other != "url" {
            throw S3Error.invalidArgument("Invalid Encoding Method specified in Request", argumentName: "encoding-type", argumentValue: other)
        }
        let continuation = head.queryValue("continuation-token")
        var startAfter: String?
        if version2 {
            if let continuation {
                guard let data = Data(base64Encoded: continuation), let key = String(data: data, encoding: .utf8) else {
                    throw S3Error.invalidArgument("The continuation token provided is incorrect", argumentName: "continuation-token")
                }
                startAfter = key
            } else {
                startAfter = head.queryValue("start-after")
            }
        } else {
            startAfter = head.queryValue("marker")
        }
        if let after = startAfter, after.isEmpty { startAfter = nil }
        let client = self.client
        let page = try await S3Listing.list(
            S3ListRequest(bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: startAfter, maxKeys: maxKeys),
            pages: { folder, after, limit in try await client.listPage(folder, after: after, limit: limit) })
        let objects = page.objects.map { object in
            S3ObjectEntry(
                key: object.key, lastModified: Date(timeIntervalSince1970: object.mtime),
                etag: object.etag
                    ?? Self.fallbackETag(FileInfo(path: .root, type: .file, size: object.size, mtime: object.mtime, replication: 0, blockBytes: 0)),
                size: object.size)
        }
        if version2 {
            let next = page.isTruncated ? page.last.map { Data($0.utf8).base64EncodedString() } : nil
            return Self.xml(
                S3Documents.listObjectsV2(
                    ListObjectsV2Page(
                        bucket: bucket, prefix: prefix, delimiter: delimiter, maxKeys: maxKeys, isTruncated: page.isTruncated,
                        continuationToken: continuation, nextContinuationToken: next, startAfter: head.queryValue("start-after"),
                        encodingType: encoding, objects: objects, commonPrefixes: page.commonPrefixes)))
        }
        return Self.xml(
            S3Documents.listObjectsV1(
                ListObjectsV1Page(
                    bucket: bucket, prefix: prefix, marker: startAfter ?? "", nextMarker: page.isTruncated && delimiter != nil ? page.last : nil,
                    delimiter: delimiter, maxKeys: maxKeys, isTruncated: page.isTruncated, encodingType: encoding, objects: objects,
                    commonPrefixes: page.commonPrefixes)))
    }
}
