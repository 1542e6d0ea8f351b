import Foundation

/// The XML documents S3 answers with, each built whole as bytes: the declaration
/// `<?xml version="1.0" encoding="UTF-8"?>`, then the root element in S3's namespace
/// (`http://s3.amazonaws.com/doc/2006-03-01/`), with no whitespace between elements, as S3
/// sends them. Times are ISO 8601 with milliseconds (``S3Time/iso8601(_:)``); ETags are given
/// without quotes and written with them, as S3 writes them (`&quot;…&quot;`).
public enum S3Documents {
    public static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    /// A writer with the declaration written and `root` opened in S3's namespace.
    static func document(_ root: String, body: (inout XMLWriter) -> Void) -> [UInt8] {
        var writer = XMLWriter()
        writer.element(root, attributes: [("xmlns", namespace)], body: body)
        return writer.finish()
    }

    static func quoted(_ etag: String) -> String { "\"\(etag)\"" }

    // MARK: Buckets

    /// GET / (ListBuckets).
    public static func listAllMyBuckets(owner: S3Owner, buckets: [S3BucketEntry]) -> [UInt8] {
        document("ListAllMyBucketsResult") { writer in
            writeOwner(owner, to: &writer)
            writer.element("Buckets") { writer in
                for bucket in buckets {
                    writer.element("Bucket") { writer in
                        writer.element("Name", bucket.name)
                        writer.element("CreationDate", S3Time.iso8601(bucket.creationDate))
                    }
                }
            }
        }
    }

    /// GET /bucket?location: the region, or an empty element for us-east-1 (nil), as S3 answers.
    public static func locationConstraint(_ region: String?) -> [UInt8] {
        var writer = XMLWriter()
        writer.element("LocationConstraint", region ?? "", attributes: [("xmlns", namespace)])
        return writer.finish()
    }

    static func writeOwner(_ owner: S3Owner, to writer: inout XMLWriter) {
        writer.element("Owner") { writer in
            writer.element("ID", owner.id)
            writer.element("DisplayName", owner.displayName)
        }
    }

    // MARK: Errors

    /// The Error document of `error`. S3 writes this one without a namespace, and so do we:
    /// the SDKs read either, and some older clients match the bare root name.
    public static func error(_ error: S3Error, requestID: String) -> [UInt8] {
        var writer = XMLWriter()
        writer.element("Error") { writer in
            writer.element("Code", error.code)
            writer.element("Message", error.message)
            for field in error.fields { writer.element(field.name, field.value) }
            if let resource = error.resource { writer.element("Resource", resource) }
            writer.element("RequestId", requestID)
        }
        return writer.finish()
    }

    // MARK: Objects

    /// PUT with x-amz-copy-source (CopyObject).
    public static func copyObjectResult(lastModified: Date, etag: String) -> [UInt8] {
        document("CopyObjectResult") { writer in
            writer.element("LastModified", S3Time.iso8601(lastModified))
            writer.element("ETag", quoted(etag))
        }
    }

    /// PUT ?partNumber&uploadId with x-amz-copy-source (UploadPartCopy).
    public static func copyPartResult(lastModified: Date, etag: String) -> [UInt8] {
        document("CopyPartResult") { writer in
            writer.element("LastModified", S3Time.iso8601(lastModified))
            writer.element("ETag", quoted(etag))
        }
    }

    /// POST ?delete (DeleteObjects): the keys deleted (none in quiet mode) and those not.
    public static func deleteResult(deleted: [String], errors: [S3DeleteError]) -> [UInt8] {
        document("DeleteResult") { writer in
            for key in deleted {
                writer.element("Deleted") { writer in writer.element("Key", key) }
            }
            for error in errors {
                writer.element("Error") { writer in
                    writer.element("Key", error.key)
                    writer.element("Code", error.code)
                    writer.element("Message", error.message)
                }
            }
        }
    }
}
