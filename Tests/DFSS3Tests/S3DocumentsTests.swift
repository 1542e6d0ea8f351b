import Foundation
import Testing

@testable import DFSS3

@Suite struct S3DocumentsTests {
    static let declaration = #"<?xml version="1.0" encoding="UTF-8"?>"#
    static let namespace = #"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#
    /// 2026-12-01T08:45:00.000Z
    static let time = Date(timeIntervalSince1970: 1_796_114_700)

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func listAllMyBuckets() throws {
        let bytes = S3Documents.listAllMyBuckets(
            owner: S3Owner(id: "dfs", displayName: "dfs"),
            buckets: [
                S3BucketEntry(name: "logs", creationDate: Self.time), S3BucketEntry(name: "photos", creationDate: Self.time.addingTimeInterval(0.5)),
            ])
        let expected =
            Self.declaration + "<ListAllMyBucketsResult \(Self.namespace)><Owner><ID>dfs</ID><DisplayName>dfs</DisplayName></Owner>"
            + "<Buckets><Bucket><Name>logs</Name><CreationDate>2026-12-01T08:45:00.000Z</CreationDate></Bucket>"
            + "<Bucket><Name>photos</Name><CreationDate>2026-12-01T08:45:00.500Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"
        #expect(text(bytes) == expected)
        let root = try XMLReader.parse(bytes)
        #expect(root.child("Buckets")?.children("Bucket").compactMap { $0.child("Name")?.text } == ["logs", "photos"])
    }

    @Test func listObjectsV2() {
        let page = ListObjectsV2Page(
            bucket: "data", prefix: "2026/", delimiter: "/", maxKeys: 2, isTruncated: true, continuationToken: "dG9rZW4x",
            nextContinuationToken: "dG9rZW4y",
            objects: [S3ObjectEntry(key: "2026/a&b.txt", lastModified: Self.time, etag: "9b2cf535f27731c974343645a3985328", size: 11)],
            commonPrefixes: ["2026/12/"])
        let expected =
            Self.declaration + "<ListBucketResult \(Self.namespace)><Name>data</Name><Prefix>2026/</Prefix>"
            + "<ContinuationToken>dG9rZW4x</ContinuationToken><NextContinuationToken>dG9rZW4y</NextContinuationToken>"
            + "<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
            + "<Contents><Key>2026/a&amp;b.txt</Key><LastModified>2026-12-01T08:45:00.000Z</LastModified>"
            + "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>11</Size><StorageClass>STANDARD</StorageClass></Contents>"
            + "<CommonPrefixes><Prefix>2026/12/</Prefix></CommonPrefixes></ListBucketResult>"
        #expect(text(S3Documents.listObjectsV2(page)) == expected)
    }

    @Test func emptyListObjectsV2WithStartAfter() {
        let page = ListObjectsV2Page(bucket: "data", startAfter: "m")
        let expected =
            Self.declaration + "<ListBucketResult \(Self.namespace)><Name>data</Name><Prefix></Prefix><StartAfter>m</StartAfter>"
            + "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"
        #expect(text(S3Documents.listObjectsV2(page)) == expected)
    }

    @Test func listObjectsV2EncodesKeysPrefixesDelimiterAndStartAfterAsURLs() throws {
        let page = ListObjectsV2Page(
            bucket: "data", prefix: "my dir/", delimiter: "/", startAfter: "my dir/a+b", encodingType: .url,
            objects: [
                S3ObjectEntry(key: "my dir/a b+c.txt", lastModified: Self.time, etag: "e", size: 1),
                S3ObjectEntry(key: "my dir/ünï~(1)%.txt", lastModified: Self.time, etag: "e", size: 2),
            ],
            commonPrefixes: ["my dir/x&y/"])
        let expected =
            Self.declaration + "<ListBucketResult \(Self.namespace)><Name>data</Name><Prefix>my+dir/</Prefix>"
            + "<StartAfter>my+dir/a%2Bb</StartAfter><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
            + "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
            + "<Contents><Key>my+dir/a+b%2Bc.txt</Key><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;e&quot;</ETag>"
            + "<Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>"
            + "<Contents><Key>my+dir/%C3%BCn%C3%AF%7E%281%29%25.txt</Key><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;e&quot;</ETag>"
            + "<Size>2</Size><StorageClass>STANDARD</StorageClass></Contents>"
            + "<CommonPrefixes><Prefix>my+dir/x%26y/</Prefix></CommonPrefixes></ListBucketResult>"
        #expect(text(S3Documents.listObjectsV2(page)) == expected)
    }

    @Test func urlEncodingFollowsS3() {
        #expect(S3Documents.urlEncoded("a b") == "a+b")
        #expect(S3Documents.urlEncoded("a+b") == "a%2Bb")
        #expect(S3Documents.urlEncoded("dir/sub/file.txt") == "dir/sub/file.txt")
        #expect(S3Documents.urlEncoded("test_file(3).png") == "test_file%283%29.png")
        #expect(S3Documents.urlEncoded("A-Z_a-z.0-9*") == "A-Z_a-z.0-9*")
        #expect(S3Documents.urlEncoded("%~!$&'=?#:;,@[]\"<>") == "%25%7E%21%24%26%27%3D%3F%23%3A%3B%2C%40%5B%5D%22%3C%3E")
        #expect(S3Documents.urlEncoded("\u{0}\u{1}\t\n\r\u{1F}\u{7F}") == "%00%01%09%0A%0D%1F%7F")
        #expect(S3Documents.urlEncoded("ключ") == "%D0%BA%D0%BB%D1%8E%D1%87")
        #expect(S3Documents.urlEncoded("\u{1F600}") == "%F0%9F%98%80")
        #expect(S3Documents.urlEncoded("") == "")
    }

    /// A key (or a prefix from the query) with a character XML 1.0 cannot carry is never
    /// altered: the listing is URL-encoded and says so, even when no encoding was asked for.
    @Test func listingsWithControlCharactersAreURLEncoded() throws {
        let page = ListObjectsV2Page(bucket: "data", prefix: "a\u{1}", objects: [S3ObjectEntry(key: "a\u{1}b", lastModified: Self.time, etag: "e", size: 0)])
        let root = try XMLReader.parse(S3Documents.listObjectsV2(page))
        #expect(root.child("EncodingType")?.text == "url")
        #expect(root.child("Prefix")?.text == "a%01")
        #expect(root.child("Contents")?.child("Key")?.text == "a%01b")
        // Tab, line feed and carriage return can be carried as references: no encoding then.
        let carried = ListObjectsV2Page(bucket: "data", objects: [S3ObjectEntry(key: "a\tb\r\nc", lastModified: Self.time, etag: "e", size: 0)])
        let carriedRoot = try XMLReader.parse(S3Documents.listObjectsV2(carried))
        #expect(carriedRoot.child("EncodingType") == nil)
        #expect(carriedRoot.child("Contents")?.child("Key")?.text == "a\tb\r\nc")
    }

    @Test func listObjectsV1WritesNextMarkerOnlyWhenTruncatedWithADelimiter() {
        let objects = [S3ObjectEntry(key: "a b.txt", lastModified: Self.time, etag: "e1", size: 5)]
        let truncated = ListObjectsV1Page(
            bucket: "data", marker: "a", delimiter: "/", maxKeys: 2, isTruncated: true, encodingType: .url, objects: objects, commonPrefixes: ["b c/"])
        let expected =
            Self.declaration + "<ListBucketResult \(Self.namespace)><Name>data</Name><Prefix></Prefix><Marker>a</Marker>"
            + "<NextMarker>b+c/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
            + "<Contents><Key>a+b.txt</Key><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>5</Size>"
            + "<StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>b+c/</Prefix></CommonPrefixes></ListBucketResult>"
        #expect(text(S3Documents.listObjectsV1(truncated)) == expected)

        let withoutDelimiter = ListObjectsV1Page(bucket: "data", prefix: "a", maxKeys: 1, isTruncated: true, objects: objects)
        let expectedWithout =
            Self.declaration + "<ListBucketResult \(Self.namespace)><Name>data</Name><Prefix>a</Prefix><Marker></Marker>"
            + "<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
            + "<Contents><Key>a b.txt</Key><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>5</Size>"
            + "<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
        #expect(text(S3Documents.listObjectsV1(withoutDelimiter)) == expectedWithout)

        var explicit = truncated
        explicit.nextMarker = "a b.txt"
        #expect(text(S3Documents.listObjectsV1(explicit)).contains("<NextMarker>a+b.txt</NextMarker>"))
        var complete = truncated
        complete.isTruncated = false
        #expect(!text(S3Documents.listObjectsV1(complete)).contains("NextMarker"))
        #expect(!text(S3Documents.listObjectsV1(complete)).contains("KeyCount"))
    }

    @Test func errorDocument() {
        let error = S3Error.noSuchKey("a&b.txt").with(resource: "/data/a&b.txt")
        let expected =
            Self.declaration + "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
            + "<Key>a&amp;b.txt</Key><Resource>/data/a&amp;b.txt</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"
        #expect(text(S3Documents.error(error, requestID: "4442587FB7D0A2F9")) == expected)
        let plain = Self.declaration + "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>r1</RequestId></Error>"
        #expect(text(S3Documents.error(.accessDenied(), requestID: "r1")) == plain)
    }

    @Test func initiateAndCompleteMultipartUpload() {
        let initiate =
            Self.declaration + "<InitiateMultipartUploadResult \(Self.namespace)><Bucket>data</Bucket><Key>big file.bin</Key>"
            + "<UploadId>VXBsb2FkSUQ</UploadId></InitiateMultipartUploadResult>"
        #expect(text(S3Documents.initiateMultipartUpload(bucket: "data", key: "big file.bin", uploadID: "VXBsb2FkSUQ")) == initiate)
        let complete =
            Self.declaration + "<CompleteMultipartUploadResult \(Self.namespace)><Location>http://localhost:9000/data/big%20file.bin</Location>"
            + "<Bucket>data</Bucket><Key>big file.bin</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>"
        let bytes = S3Documents.completeMultipartUpload(
            location: "http://localhost:9000/data/big%20file.bin", bucket: "data", key: "big file.bin", etag: "3858f62230ac3c915f300c664312c11f-9")
        #expect(text(bytes) == complete)
    }

    @Test func listParts() {
        let page = ListPartsPage(
            bucket: "data", key: "k", uploadID: "u1", partNumberMarker: 1, nextPartNumberMarker: 3, maxParts: 2, isTruncated: true,
            parts: [
                S3PartEntry(partNumber: 2, lastModified: Self.time, etag: "p2", size: 5_242_880),
                S3PartEntry(partNumber: 3, lastModified: Self.time, etag: "p3", size: 1),
            ])
        let expected =
            Self.declaration + "<ListPartsResult \(Self.namespace)><Bucket>data</Bucket><Key>k</Key><UploadId>u1</UploadId>"
            + "<StorageClass>STANDARD</StorageClass><PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker>"
            + "<MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"
            + "<Part><PartNumber>2</PartNumber><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;p2&quot;</ETag><Size>5242880</Size></Part>"
            + "<Part><PartNumber>3</PartNumber><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;p3&quot;</ETag><Size>1</Size></Part>"
            + "</ListPartsResult>"
        #expect(text(S3Documents.listParts(page)) == expected)
    }

    @Test func listMultipartUploads() {
        let page = ListMultipartUploadsPage(
            bucket: "data", keyMarker: "a", uploadIDMarker: "u0", nextKeyMarker: "my file", nextUploadIDMarker: "u2", prefix: "my", delimiter: "/",
            maxUploads: 1, isTruncated: true, encodingType: .url, uploads: [S3UploadEntry(key: "my file", uploadID: "u2", initiated: Self.time)],
            commonPrefixes: ["my dir/"])
        let expected =
            Self.declaration + "<ListMultipartUploadsResult \(Self.namespace)><Bucket>data</Bucket><KeyMarker>a</KeyMarker>"
            + "<UploadIdMarker>u0</UploadIdMarker><NextKeyMarker>my+file</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>"
            + "<Prefix>my</Prefix><Delimiter>/</Delimiter><EncodingType>url</EncodingType><MaxUploads>1</MaxUploads><IsTruncated>true</IsTruncated>"
            + "<Upload><Key>my+file</Key><UploadId>u2</UploadId><StorageClass>STANDARD</StorageClass><Initiated>2026-12-01T08:45:00.000Z</Initiated></Upload>"
            + "<CommonPrefixes><Prefix>my+dir/</Prefix></CommonPrefixes></ListMultipartUploadsResult>"
        #expect(text(S3Documents.listMultipartUploads(page)) == expected)
    }

    @Test func copyResults() {
        #expect(
            text(S3Documents.copyObjectResult(lastModified: Self.time, etag: "abc")) == Self.declaration
                + "<CopyObjectResult \(Self.namespace)><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag></CopyObjectResult>")
        #expect(
            text(S3Documents.copyPartResult(lastModified: Self.time, etag: "abc")) == Self.declaration
                + "<CopyPartResult \(Self.namespace)><LastModified>2026-12-01T08:45:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag></CopyPartResult>")
    }

    @Test func deleteResult() {
        let bytes = S3Documents.deleteResult(
            deleted: ["a.txt", "b <1>.txt"],
            errors: [S3DeleteError(key: "c.txt", error: .accessDenied()), S3DeleteError(key: "d", code: "InternalError", message: "m")])
        let expected =
            Self.declaration + "<DeleteResult \(Self.namespace)><Deleted><Key>a.txt</Key></Deleted><Deleted><Key>b &lt;1&gt;.txt</Key></Deleted>"
            + "<Error><Key>c.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            + "<Error><Key>d</Key><Code>InternalError</Code><Message>m</Message></Error></DeleteResult>"
        #expect(text(bytes) == expected)
        #expect(text(S3Documents.deleteResult(deleted: [], errors: [])) == Self.declaration + "<DeleteResult \(Self.namespace)></DeleteResult>")
    }

    @Test func locationConstraint() {
        #expect(text(S3Documents.locationConstraint("eu-west-1")) == Self.declaration + "<LocationConstraint \(Self.namespace)>eu-west-1</LocationConstraint>")
        #expect(text(S3Documents.locationConstraint(nil)) == Self.declaration + "<LocationConstraint \(Self.namespace)></LocationConstraint>")
    }
}
