/// The body of CompleteMultipartUpload: the parts to join, in the order the client gave them
/// (the handler checks that order, InvalidPartOrder, and each part, InvalidPart).
///
/// `etag` is stored without quotes, whether the client quoted it (the aws CLI and boto3 send
/// `"…"`, escaped or not) or not (rclone). `checksums` holds the part's checksums by
/// algorithm, `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1` or `SHA256` (the element's name less
/// `Checksum`), as base64 text.
public struct CompleteMultipartUploadRequest: Sendable {
    public var parts: [(number: Int, etag: String, checksums: [String: String])]

    public init(parts: [(number: Int, etag: String, checksums: [String: String])]) {
        self.parts = parts
    }

    /// S3's limit on the parts of one upload.
    public static let partCountMax = 10_000
    static let checksumAlgorithms = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]

    /// The request in `bytes`; MalformedXML for anything that is not one, InvalidArgument for
    /// a part number outside 1...10000.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> CompleteMultipartUploadRequest {
        let root = try S3Documents.readRoot(bytes, named: "CompleteMultipartUpload")
        let partElements = root.children("Part")
        guard !partElements.isEmpty else { throw .malformedXML("CompleteMultipartUpload names no Part") }
        guard partElements.count <= partCountMax else {
            throw .malformedXML("CompleteMultipartUpload names \(partElements.count) parts; an upload has at most \(partCountMax)")
        }
        var parts: [(number: Int, etag: String, checksums: [String: String])] = []
        parts.reserveCapacity(partElements.count)
        for element in partElements {
            let numberText = try S3Documents.onlyChild(element, "PartNumber").text.trimmedXMLWhitespace
            let number = try partNumber(numberText)
            var etag = try S3Documents.onlyChild(element, "ETag").text.trimmedXMLWhitespace
            if etag.count >= 2, etag.hasPrefix("\""), etag.hasSuffix("\"") { etag = String(etag.dropFirst().dropLast()) }
            guard !etag.isEmpty else { throw .malformedXML("part \(number) has an empty ETag") }
            var checksums: [String: String] = [:]
            for algorithm in checksumAlgorithms {
                if let checksum = element.child("Checksum" + algorithm) { checksums[algorithm] = checksum.text.trimmedXMLWhitespace }
            }
            parts.append((number: number, etag: etag, checksums: checksums))
        }
        return CompleteMultipartUploadRequest(parts: parts)
    }

    static func partNumber(_ text: String) throws(S3Error) -> Int {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .malformedXML("PartNumber \(text) is not a number")
        }
        guard let number = Int(text), (1...partCountMax).contains(number) else {
            throw .invalidArgument("Part number must be an integer between 1 and 10000, inclusive", argumentName: "partNumber", argumentValue: text)
        }
        return number
    }
}

/// The body of DeleteObjects: the keys to delete, and whether only failures are reported.
public struct DeleteObjectsRequest: Sendable, Equatable {
    public var quiet: Bool
    public var keys: [String]

    public init(quiet: Bool, keys: [String]) {
        self.quiet = quiet
        self.keys = keys
    }

    /// S3's limit on the keys of one request.
    public static let keyCountMax = 1000

    /// The request in `bytes`; MalformedXML for anything that is not one, for no key and for
    /// more than 1,000. Keys are kept exactly as sent, spaces included; VersionId is ignored
    /// (a dfs bucket has no versions).
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> DeleteObjectsRequest {
        let root = try S3Documents.readRoot(bytes, named: "Delete")
        let objects = root.children("Object")
        guard !objects.isEmpty else { throw .malformedXML("Delete names no Object") }
        guard objects.count <= keyCountMax else {
            throw .malformedXML("Delete names \(objects.count) objects; at most \(keyCountMax) may be deleted at once")
        }
        var keys: [String] = []
        keys.reserveCapacity(objects.count)
        for object in objects {
            keys.append(try S3Documents.onlyChild(object, "Key").text)
        }
        var quiet = false
        if root.children("Quiet").count > 1 { throw .malformedXML("Delete has more than one Quiet") }
        if let element = root.child("Quiet") {
            switch element.text.trimmedXMLWhitespace.lowercased() {
            case "true": quiet = true
            case "false": quiet = false
            case let text: throw .malformedXML("Quiet is \(text), not true or false")
            }
        }
        return DeleteObjectsRequest(quiet: quiet, keys: keys)
    }
}

/// The body of CreateBucket: the region asked for, if any. An empty body asks for none.
public struct CreateBucketConfiguration: Sendable, Equatable {
    public var locationConstraint: String?

    public init(locationConstraint: String?) {
        self.locationConstraint = locationConstraint
    }

    /// The configuration in `bytes`: nil region for an empty body (or whitespace) and for an
    /// empty LocationConstraint; MalformedXML for anything that is not one.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> CreateBucketConfiguration {
        guard bytes.contains(where: { !XMLScanner.isWhitespace($0) }) else { return CreateBucketConfiguration(locationConstraint: nil) }
        let root = try S3Documents.readRoot(bytes, named: "CreateBucketConfiguration")
        guard root.children("LocationConstraint").count <= 1 else { throw .malformedXML("more than one LocationConstraint") }
        let region = root.child("LocationConstraint")?.text.trimmedXMLWhitespace ?? ""
        return CreateBucketConfiguration(locationConstraint: region.isEmpty ? nil : region)
    }
}

extension S3Documents {
    /// The root of a request body, which must be named `name`; any XML problem is MalformedXML
    /// with the reader's explanation.
    static func readRoot(_ bytes: [UInt8], named name: String) throws(S3Error) -> XMLElement {
        let root: XMLElement
        do {
            root = try XMLReader.parse(bytes)
        } catch {
            throw .malformedXML("The XML you provided was not well-formed or did not validate against our published schema: \(error)")
        }
        guard root.name == name else { throw .malformedXML("the root element is <\(root.name)>, not <\(name)>") }
        return root
    }

    /// The one child of `element` named `name`; MalformedXML if there is none or more than one.
    static func onlyChild(_ element: XMLElement, _ name: String) throws(S3Error) -> XMLElement {
        let matches = element.children(name)
        guard matches.count == 1 else {
            throw .malformedXML(matches.isEmpty ? "<\(element.name)> has no \(name)" : "<\(element.name)> has more than one \(name)")
        }
        return matches[0]
    }
}

extension String {
    /// Without leading and trailing XML whitespace (space, tab, line feed, carriage return).
    var trimmedXMLWhitespace: String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !XMLScanner.isWhitespace($0) }),
            let last = bytes.lastIndex(where: { !XMLScanner.isWhitespace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
