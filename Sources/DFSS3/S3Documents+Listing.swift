/// One page of ListObjectsV2 (GET /bucket?list-type=2), as the handler found it.
public struct ListObjectsV2Page: Sendable, Equatable {
    public var bucket: String
    public var prefix: String
    public var delimiter: String?
    public var maxKeys: Int
    public var isTruncated: Bool
    public var continuationToken: String?
    public var nextContinuationToken: String?
    public var startAfter: String?
    public var encodingType: S3EncodingType?
    public var objects: [S3ObjectEntry]
    public var commonPrefixes: [String]

    public init(
        bucket: String, prefix: String = "", delimiter: String? = nil, maxKeys: Int = 1000, isTruncated: Bool = false,
        continuationToken: String? = nil, nextContinuationToken: String? = nil, startAfter: String? = nil,
        encodingType: S3EncodingType? = nil, objects: [S3ObjectEntry] = [], commonPrefixes: [String] = []
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.maxKeys = maxKeys
        self.isTruncated = isTruncated
        self.continuationToken = continuationToken
        self.nextContinuationToken = nextContinuationToken
        self.startAfter = startAfter
        self.encodingType = encodingType
        self.objects = objects
        self.commonPrefixes = commonPrefixes
    }
}

/// One page of ListObjects, version 1 (GET /bucket).
public struct ListObjectsV1Page: Sendable, Equatable {
    public var bucket: String
    public var prefix: String
    public var marker: String
    /// Written only when the page is truncated and a delimiter was given, as S3 does; nil
    /// then means the last key or common prefix of the page, whichever sorts later.
    public var nextMarker: String?
    public var delimiter: String?
    public var maxKeys: Int
    public var isTruncated: Bool
    public var encodingType: S3EncodingType?
    public var objects: [S3ObjectEntry]
    public var commonPrefixes: [String]

    public init(
        bucket: String, prefix: String = "", marker: String = "", nextMarker: String? = nil, delimiter: String? = nil, maxKeys: Int = 1000,
        isTruncated: Bool = false, encodingType: S3EncodingType? = nil, objects: [S3ObjectEntry] = [], commonPrefixes: [String] = []
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.marker = marker
        self.nextMarker = nextMarker
        self.delimiter = delimiter
        self.maxKeys = maxKeys
        self.isTruncated = isTruncated
        self.encodingType = encodingType
        self.objects = objects
        self.commonPrefixes = commonPrefixes
    }
}

extension S3Documents {
    /// ListBucketResult of ListObjectsV2. With `encodingType` `.url`, Key, Prefix (the
    /// request's and each common prefix), Delimiter and StartAfter are URL-encoded
    /// (``urlEncoded(_:)``), the elements S3 names for V2; tokens are the gateway's own
    /// and never encoded.
    public static func listObjectsV2(_ page: ListObjectsV2Page) -> [UInt8] {
        let texts = [page.prefix, page.delimiter ?? "", page.startAfter ?? ""] + page.objects.map(\.key) + page.commonPrefixes
        let encoding = listingEncoding(asked: page.encodingType, texts: texts)
        return document("ListBucketResult") { writer in
            writer.element("Name", page.bucket)
            writer.element("Prefix", encode(page.prefix, encoding))
            if let startAfter = page.startAfter { writer.element("StartAfter", encode(startAfter, encoding)) }
            if let token = page.continuationToken { writer.element("ContinuationToken", token) }
            if let token = page.nextContinuationToken { writer.element("NextContinuationToken", token) }
            writer.element("KeyCount", String(page.objects.count + page.commonPrefixes.count))
            writer.element("MaxKeys", String(page.maxKeys))
            if let delimiter = page.delimiter { writer.element("Delimiter", encode(delimiter, encoding)) }
            if let encoding { writer.element("EncodingType", encoding.rawValue) }
            writer.element("IsTruncated", page.isTruncated ? "true" : "false")
            writeContents(page.objects, encoding: encoding, to: &writer)
            writeCommonPrefixes(page.commonPrefixes, encoding: encoding, to: &writer)
        }
    }

    /// ListBucketResult of ListObjects version 1: Marker always, NextMarker only on a
    /// truncated page of a listing with a delimiter, no KeyCount. With `encodingType` `.url`,
    /// Key, Prefix, Delimiter, Marker and NextMarker are URL-encoded.
    public static func listObjectsV1(_ page: ListObjectsV1Page) -> [UInt8] {
        let writesNextMarker = page.isTruncated && !(page.delimiter ?? "").isEmpty
        let nextMarker = page.nextMarker ?? max(page.objects.last?.key ?? "", page.commonPrefixes.last ?? "")
        let texts = [page.prefix, page.marker, page.delimiter ?? "", writesNextMarker ? nextMarker : ""] + page.objects.map(\.key) + page.commonPrefixes
        let encoding = listingEncoding(asked: page.encodingType, texts: texts)
        return document("ListBucketResult") { writer in
            writer.element("Name", page.bucket)
            writer.element("Prefix", encode(page.prefix, encoding))
            writer.element("Marker", encode(page.marker, encoding))
            if writesNextMarker { writer.element("NextMarker", encode(nextMarker, encoding)) }
            writer.element("MaxKeys", String(page.maxKeys))
            if let delimiter = page.delimiter { writer.element("Delimiter", encode(delimiter, encoding)) }
            if let encoding { writer.element("EncodingType", encoding.rawValue) }
            writer.element("IsTruncated", page.isTruncated ? "true" : "false")
            writeContents(page.objects, encoding: encoding, to: &writer)
            writeCommonPrefixes(page.commonPrefixes, encoding: encoding, to: &writer)
        }
    }

    static func writeContents(_ objects: [S3ObjectEntry], encoding: S3EncodingType?, to writer: inout XMLWriter) {
        for object in objects {
            writer.element("Contents") { writer in
                writer.element("Key", encode(object.key, encoding))
                writer.element("LastModified", S3Time.iso8601(object.lastModified))
                writer.element("ETag", quoted(object.etag))
                writer.element("Size", String(object.size))
                writer.element("StorageClass", "STANDARD")
            }
        }
    }

    static func writeCommonPrefixes(_ prefixes: [String], encoding: S3EncodingType?, to writer: inout XMLWriter) {
        for prefix in prefixes {
            writer.element("CommonPrefixes") { writer in writer.element("Prefix", encode(prefix, encoding)) }
        }
    }
}
