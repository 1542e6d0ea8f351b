/// One page of ListParts (GET /bucket/key?uploadId).
public struct ListPartsPage: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var uploadID: String
    public var partNumberMarker: Int
    public var nextPartNumberMarker: Int
    public var maxParts: Int
    public var isTruncated: Bool
    public var parts: [S3PartEntry]

    public init(
        bucket: String, key: String, uploadID: String, partNumberMarker: Int = 0, nextPartNumberMarker: Int = 0, maxParts: Int = 1000,
        isTruncated: Bool = false, parts: [S3PartEntry] = []
    ) {
        self.bucket = bucket
        self.key = key
        self.uploadID = uploadID
        self.partNumberMarker = partNumberMarker
        self.nextPartNumberMarker = nextPartNumberMarker
        self.maxParts = maxParts
        self.isTruncated = isTruncated
        self.parts = parts
    }
}

/// One page of ListMultipartUploads (GET /bucket?uploads).
public struct ListMultipartUploadsPage: Sendable, Equatable {
    public var bucket: String
    public var keyMarker: String
    public var uploadIDMarker: String
    public var nextKeyMarker: String
    public var nextUploadIDMarker: String
    public var prefix: String
    public var delimiter: String?
    public var maxUploads: Int
    public var isTruncated: Bool
    public var encodingType: S3EncodingType?
    public var uploads: [S3UploadEntry]
    public var commonPrefixes: [String]

    public init(
        bucket: String, keyMarker: String = "", uploadIDMarker: String = "", nextKeyMarker: String = "", nextUploadIDMarker: String = "",
        prefix: String = "", delimiter: String? = nil, maxUploads: Int = 1000, isTruncated: Bool = false, encodingType: S3EncodingType? = nil,
        uploads: [S3UploadEntry] = [], commonPrefixes: [String] = []
    ) {
        self.bucket = bucket
        self.keyMarker = keyMarker
        self.uploadIDMarker = uploadIDMarker
        self.nextKeyMarker = nextKeyMarker
        self.nextUploadIDMarker = nextUploadIDMarker
        self.prefix = prefix
        self.delimiter = delimiter
        self.maxUploads = maxUploads
        self.isTruncated = isTruncated
        self.encodingType = encodingType
        self.uploads = uploads
        self.commonPrefixes = commonPrefixes
    }
}

extension S3Documents {
    /// POST /bucket/key?uploads (CreateMultipartUpload).
    public static func initiateMultipartUpload(bucket: String, key: String, uploadID: String) -> [UInt8] {
        document("InitiateMultipartUploadResult") { writer in
            writer.element("Bucket", bucket)
            writer.element("Key", key)
            writer.element("UploadId", uploadID)
        }
    }

    /// POST /bucket/key?uploadId (CompleteMultipartUpload); `etag` without quotes
    /// (`…-3` for three parts).
    public static func completeMultipartUpload(location: String, bucket: String, key: String, etag: String) -> [UInt8] {
        document("CompleteMultipartUploadResult") { writer in
            writer.element("Location", location)
            writer.element("Bucket", bucket)
            writer.element("Key", key)
            writer.element("ETag", quoted(etag))
        }
    }

    /// ListPartsResult.
    public static func listParts(_ page: ListPartsPage) -> [UInt8] {
        document("ListPartsResult") { writer in
            writer.element("Bucket", page.bucket)
            writer.element("Key", page.key)
            writer.element("UploadId", page.uploadID)
            writer.element("StorageClass", "STANDARD")
            writer.element("PartNumberMarker", String(page.partNumberMarker))
            writer.element("NextPartNumberMarker", String(page.nextPartNumberMarker))
            writer.element("MaxParts", String(page.maxParts))
            writer.element("IsTruncated", page.isTruncated ? "true" : "false")
            for part in page.parts {
                writer.element("Part") { writer in
                    writer.element("PartNumber", String(part.partNumber))
                    writer.element("LastModified", S3Time.iso8601(part.lastModified))
                    writer.element("ETag", quoted(part.etag))
                    writer.element("Size", String(part.size))
                }
            }
        }
    }

    /// ListMultipartUploadsResult. With `encodingType` `.url`, Key, Prefix, Delimiter,
    /// KeyMarker and NextKeyMarker are URL-encoded, as S3 does for this listing too.
    public static func listMultipartUploads(_ page: ListMultipartUploadsPage) -> [UInt8] {
        let texts = [page.prefix, page.delimiter ?? "", page.keyMarker, page.nextKeyMarker] + page.uploads.map(\.key) + page.commonPrefixes
        let encoding = listingEncoding(asked: page.encodingType, texts: texts)
        return document("ListMultipartUploadsResult") { writer in
            writer.element("Bucket", page.bucket)
            writer.element("KeyMarker", encode(page.keyMarker, encoding))
            writer.element("UploadIdMarker", page.uploadIDMarker)
            writer.element("NextKeyMarker", encode(page.nextKeyMarker, encoding))
            writer.element("NextUploadIdMarker", page.nextUploadIDMarker)
            writer.element("Prefix", encode(page.prefix, encoding))
            if let delimiter = page.delimiter { writer.element("Delimiter", encode(delimiter, encoding)) }
            if let encoding { writer.element("EncodingType", encoding.rawValue) }
            writer.element("MaxUploads", String(page.maxUploads))
            writer.element("IsTruncated", page.isTruncated ? "true" : "false")
            for upload in page.uploads {
                writer.element("Upload") { writer in
                    writer.element("Key", encode(upload.key, encoding))
                    writer.element("UploadId", upload.uploadID)
                    writer.element("StorageClass", "STANDARD")
                    writer.element("Initiated", S3Time.iso8601(upload.initiated))
                }
            }
            writeCommonPrefixes(page.commonPrefixes, encoding: encoding, to: &writer)
        }
    }
}
