import Foundation

/// The owner S3 names in bucket listings.
public struct S3Owner: Sendable, Equatable {
    public var id: String
    public var displayName: String

    public init(id: String, displayName: String) {
        self.id = id
        self.displayName = displayName
    }
}

/// A bucket in ListAllMyBucketsResult.
public struct S3BucketEntry: Sendable, Equatable {
    public var name: String
    public var creationDate: Date

    public init(name: String, creationDate: Date) {
        self.name = name
        self.creationDate = creationDate
    }
}

/// An object in a listing; `etag` without quotes.
public struct S3ObjectEntry: Sendable, Equatable {
    public var key: String
    public var lastModified: Date
    public var etag: String
    public var size: Int

    public init(key: String, lastModified: Date, etag: String, size: Int) {
        self.key = key
        self.lastModified = lastModified
        self.etag = etag
        self.size = size
    }
}

/// A part in ListPartsResult; `etag` without quotes.
public struct S3PartEntry: Sendable, Equatable {
    public var partNumber: Int
    public var lastModified: Date
    public var etag: String
    public var size: Int

    public init(partNumber: Int, lastModified: Date, etag: String, size: Int) {
        self.partNumber = partNumber
        self.lastModified = lastModified
        self.etag = etag
        self.size = size
    }
}

/// An upload in progress, in ListMultipartUploadsResult.
public struct S3UploadEntry: Sendable, Equatable {
    public var key: String
    public var uploadID: String
    public var initiated: Date

    public init(key: String, uploadID: String, initiated: Date) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}

/// A key DeleteObjects could not delete, with the S3 error code and message why.
public struct S3DeleteError: Sendable, Equatable {
    public var key: String
    public var code: String
    public var message: String

    public init(key: String, code: String, message: String) {
        self.key = key
        self.code = code
        self.message = message
    }

    public init(key: String, error: S3Error) {
        self.init(key: key, code: error.code, message: error.message)
    }
}

/// The `encoding-type` a listing was asked for; S3 knows only `url`.
public enum S3EncodingType: String, Sendable, Equatable {
    case url
}
