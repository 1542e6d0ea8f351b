import DFSCore

/// Where an S3 bucket and key live in the namespace: a bucket is a top-level folder, a key a
/// path under it (its `/`s make folders).
///
/// Bucket names follow S3's rules for new buckets (3 to 63 characters of lower-case letters,
/// digits, `-` and `.`, starting and ending with a letter or digit, not shaped like an IP
/// address), so that every name a client may send in a virtual-host address is one here too.
/// A key must be a valid dfs path below its bucket: no empty segment (`a//b`), no `.` or `..`
/// segment, no trailing `/` (S3's "folder markers", which `aws s3` does not make), at most
/// ``keyBytesMax`` bytes of UTF-8, as S3 allows. Anything else is `InvalidBucketName` or
/// `InvalidArgument` for the caller to send.
public enum ObjectName {
    /// S3's limit on a key's length, in bytes of UTF-8.
    public static let keyBytesMax = 1024

    public enum Problem: Error, Equatable, Sendable {
        case invalidBucketName(String)
        case invalidKey(String)
    }

    /// The folder of `bucket`.
    public static func bucketPath(_ bucket: String) throws(Problem) -> DFSPath {
        try validateBucket(bucket)
        do {
            return try DFSPath.root.appending(bucket)
        } catch {
            throw .invalidBucketName("\(bucket) is not a valid folder name: \(error.message)")
        }
    }

    /// The file of `key` in `bucket`.
    public static func objectPath(bucket: String, key: String) throws(Problem) -> DFSPath {
        let folder = try bucketPath(bucket)
        guard !key.isEmpty else { throw .invalidKey("the key is empty") }
        guard key.utf8.count <= keyBytesMax else { throw .invalidKey("the key is \(key.utf8.count) bytes long; at most \(keyBytesMax) are allowed") }
        var path = folder
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty else { throw .invalidKey("\(key) has an empty segment (a leading, trailing or double /)") }
            guard segment != ".", segment != ".." else { throw .invalidKey("\(key) has a . or .. segment") }
            do {
                path = try path.appending(String(segment))
            } catch {
                throw .invalidKey("\(key) is not a valid path: \(error.message)")
            }
        }
        return path
    }

    /// The key of `path` in its bucket (the path less its first component), or nil when
    /// `path` is a bucket or the root.
    public static func key(of path: DFSPath) -> String? {
        guard path.components.count > 1 else { return nil }
        return path.components.dropFirst().joined(separator: "/")
    }

    /// Throws unless `name` is a bucket name S3 would accept for a new bucket.
    public static func validateBucket(_ name: String) throws(Problem) {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { throw .invalidBucketName("\(name) is not 3 to 63 characters long") }
        func isLetterOrDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard bytes.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
            throw .invalidBucketName("\(name) has characters other than lower-case letters, digits, - and .")
        }
        guard isLetterOrDigit(bytes[0]), isLetterOrDigit(bytes[bytes.count - 1]) else {
            throw .invalidBucketName("\(name) does not start and end with a letter or digit")
        }
        guard !name.contains(".."), !name.contains(".-"), !name.contains("-.") else {
            throw .invalidBucketName("\(name) has a dot next to a dot or a hyphen")
        }
        let parts = name.split(separator: ".")
        if parts.count == 4, parts.allSatisfy({ part in part.allSatisfy(\.isNumber) && Int(part).map { $0 <= 255 } == true }) {
            throw .invalidBucketName("\(name) is shaped like an IP address")
        }
    }
}
