import DFSClient
import DFSCore
import DFSHTTP
import DFSSystem
import Foundation

extension S3Gateway {
    /// Request headers stored with an object and given back by GET and HEAD.
    static let storedHeaders = ["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"]
    /// What an object without a stored Content-Type is served as, as S3 does.
    static let defaultContentType = "binary/octet-stream"
    /// Bytes read from the cluster for one piece of a ranged GET (a multiple of
    /// ``Limits/pieceBytes``).
    static let rangeReadBytes = 4 * 1024 * 1024
    /// The largest object one PUT takes, as S3 (5 GiB); larger ones go in parts.
    static let putBytesMax = 5 * 1024 * 1024 * 1024

    // MARK: PUT

    /// PutObject: the body is staged in the staging folder as it arrives, each full block
    /// sent to the cluster while the next arrives (``StreamingUpload``), and the object made
    /// visible whole, with its MD5 as ETag and its headers as properties, only once every
    /// check on the body passed; a body that fails one leaves nothing behind.
    func putObject(_ bucket: String, _ key: String, _ request: HTTPRequest, verified: SigV4Verified) async throws -> HTTPResponse {
        let path = try Self.objectPath(bucket, key)
        _ = try await bucketFolder(bucket)
        var body = try S3RequestBody(request, verified: verified)
        guard let declared = body.declaredLength ?? (request.body.isChunked ? nil : 0) else {
            throw S3Error.missingContentLength()
        }
        guard declared <= Self.putBytesMax else { throw S3Error.entityTooLarge() }
        let properties = Self.properties(of: request)
        try FileInfo.checkETagAndPropertiesAsS3(properties: properties)
        let staged = options.stagingFolder + "/put-" + Self.requestID() + Self.requestID()
        let file = try OpenFile.createNew(staged, .readWrite)
        defer {
            file.close()
            FileSystem.removeQuietly(staged)
        }
        let blockBytes = options.upload.blockBytes
        let upload = try await StreamingUpload.start(client: client, path: path, options: options.upload)
        do {
            var written = 0
            var sentBlocks = 0
            while let piece = try await body.next() {
                guard written + piece.count <= Self.putBytesMax else { throw S3Error.entityTooLarge() }
                let offset = written
                try await BlockingIO.run { try file.writeAll(piece, at: offset) }
                written += piece.count
                while written - sentBlocks * blockBytes > blockBytes {
                    try await upload.send(blockIndex: sentBlocks, localPath: staged, offset: sentBlocks * blockBytes, length: blockBytes)
                    sentBlocks += 1
                }
            }
            let md5 = try body.finish()
            let info = try await upload.finish(size: written, localPath: staged, etag: md5, properties: properties)
            var headers = HTTPHeaders()
            headers.set("ETag", "\"\(md5)\"")
            headers.set("Last-Modified", S3Time.httpDate(Date(timeIntervalSince1970: info.mtime)))
            return HTTPResponse(status: .ok, headers: headers)
        } catch {
            await upload.abandon()
            throw error
        }
    }

    /// The headers of `request` an object keeps: its content type and the like, and
    /// `x-amz-meta-*` (names in lower case, as S3 gives them back).
    static func properties(of request: HTTPRequest) -> [String: String] {
        var properties: [String: String] = [:]
        for field in request.headers {
            let name = field.name.lowercased()
            if storedHeaders.contains(name) || name.hasPrefix("x-amz-meta-") { properties[name] = field.value }
        }
        return properties
    }

    // MARK: GET and HEAD

    /// GetObject and HeadObject: the object's bytes (a Range of them: 206), its ETag,
    /// Last-Modified, type and metadata; If-Match, If-None-Match, If-Modified-Since and
    /// If-Unmodified-Since as RFC 9110 orders them.
    func getObject(_ bucket: String, _ key: String, _ request: HTTPRequest, head: Bool) async throws -> HTTPResponse {
        let path = try Self.objectPath(bucket, key)
        let file: GetFileOK
        do {
            file = try await client.stat(path)
        } catch let error as DFSError where error.code == .notFound {
            _ = try await bucketFolder(bucket)
            throw S3Error.noSuchKey(key)
        }
        guard file.info.type == .file else { throw S3Error.noSuchKey(key) }
        let info = file.info
        let etag = "\"\(info.etag ?? Self.fallbackETag(info))\""
        let modified = Date(timeIntervalSince1970: info.mtime.rounded(.down))
        var headers = HTTPHeaders()
        headers.set("ETag", etag)
        headers.set("Last-Modified", S3Time.httpDate(modified))
        headers.set("Accept-Ranges", "bytes")
        headers.set("Content-Type", info.properties?["content-type"] ?? Self.defaultContentType)
        for (name, value) in (info.properties ?? [:]).sorted(by: { $0.key < $1.key }) where name != "content-type" {
            headers.set(name, value)
        }
        switch Self.condition(request.headers, etag: etag, modified: modified, now: now()) {
        case .notModified: return HTTPResponse(status: .notModified, headers: headers, body: .empty)
        case .preconditionFailed(let header): throw S3Error.preconditionFailed(condition: header)
        case nil: break
        }
        var range = 0..<info.size
        var status = HTTPStatus.ok
        if let text = request.headers["range"], let requested = try Self.byteRange(text, size: info.size) {
            range = requested
            status = .partialContent
            headers.set("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(info.size)")
        }
        // A HEAD's Content-Length is the object's: a streamed body of that length, which the
        // server does not ask for on a HEAD, frames it.
        if head { return HTTPResponse(status: status, headers: headers, body: .stream(length: range.count) { _ in }) }
        let client = self.client
        let whole = range == 0..<info.size
        let sent = range
        return HTTPResponse(
            status: status, headers: headers,
            body: .stream(length: range.count) { writer in
                if whole {
                    try await client.stream(file, path: path) { bytes in try await writer.write(bytes) }
                } else {
                    try await Self.streamRange(sent, of: file, path: path, client: client, to: writer)
                }
            })
    }

    /// The tag of a file written without one (by `dfs cp`): not an MD5 (reading the file to
    /// make one would cost a GET of it), but stable for a version and changed by a new one.
    static func fallbackETag(_ info: FileInfo) -> String {
        let crc = String(info.crc32c ?? 0, radix: 16)
        let time = String(Int64(info.mtime * 1000), radix: 16)
        return "\(crc)\(time)-0"
    }

    /// Writes `range` of a file, block by block, in pieces of ``rangeReadBytes``.
    static func streamRange(_ range: Range<Int>, of file: GetFileOK, path: DFSPath, client: DFSClient, to writer: HTTPBodyWriter) async throws {
        var blockStart = 0
        for block in file.blocks {
            defer { blockStart += block.length }
            let blockRange = blockStart..<(blockStart + block.length)
            guard range.overlaps(blockRange) else { continue }
            var position = max(range.lowerBound, blockStart) - blockStart
            let end = min(range.upperBound, blockRange.upperBound) - blockStart
            while position < end {
                let start = position / Limits.pieceBytes * Limits.pieceBytes
                let stop = min(block.length, start + rangeReadBytes)
                let bytes = try await client.readBlock(block, of: path, range: start..<stop)
                let from = position - start
                let to = min(end, stop) - start
                try await writer.write(Array(bytes[from..<to]))
                position = start + to
            }
        }
    }

    /// A `Range: bytes=...` header against an object of `size` bytes: the range to send, nil
    /// to send the whole object (a form S3 ignores: several ranges, other units),
    /// InvalidRange when it starts past the end.
    static func byteRange(_ text: String, size: Int) throws(S3Error) -> Range<Int>? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes="), !trimmed.contains(",") else { return nil }
        let spec = trimmed.dropFirst("bytes=".count)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0 else { return nil }
            guard size > 0 else { throw S3Error.invalidRange(requested: text, objectSize: size) }
            return max(0, size - suffix)..<size
        }
        guard let start = Int(first), start >= 0 else { return nil }
        guard start < size else { throw S3Error.invalidRange(requested: text, objectSize: size) }
        if last.isEmpty { return start..<size }
        guard let end = Int(last), end >= start else { return nil }
        // min first: an end of Int.max must not overflow.
        return start..<(min(size - 1, end) + 1)
    }

    enum ConditionOutcome: Equatable {
        case notModified
        case preconditionFailed(String)
    }

    /// What a conditional request gets instead of the object (304, or 412 naming the header
    /// that failed), or nil.
    static func condition(_ headers: HTTPHeaders, etag: String, modified: Date, now: Date) -> ConditionOutcome? {
        func matches(_ list: String) -> Bool {
            list.split(separator: ",").contains { tag in
                let tag = tag.trimmingCharacters(in: .whitespaces)
                return tag == "*" || tag == etag || "\"\(tag)\"" == etag || tag.replacingOccurrences(of: "W/", with: "") == etag
            }
        }
        if let ifMatch = headers["if-match"] {
            if !matches(ifMatch) { return .preconditionFailed("If-Match") }
        } else if let since = headers["if-unmodified-since"].flatMap({ S3Time.parseHTTPDate($0, now: now) }), modified > since {
            return .preconditionFailed("If-Unmodified-Since")
        }
        if let ifNoneMatch = headers["if-none-match"] {
            if matches(ifNoneMatch) { return .notModified }
        } else if let since = headers["if-modified-since"].flatMap({ S3Time.parseHTTPDate($0, now: now) }), modified <= since {
            return .notModified
        }
        return nil
    }

    // MARK: DELETE

    /// DeleteObject: gone, or was not there (204 either way, as S3); the folders it leaves
    /// empty go too, up to its bucket (S3 has no folders, and an emptied bucket must be
    /// removable).
    func deleteObject(_ bucket: String, _ key: String) async throws -> HTTPResponse {
        let path = try Self.objectPath(bucket, key)
        let folder = try await bucketFolder(bucket)
        try await removeObject(path, bucket: folder)
        return HTTPResponse(status: .noContent)
    }

    func removeObject(_ path: DFSPath, bucket: DFSPath) async throws {
        do {
            let info = try await client.stat(path).info
            guard info.type != .dir else { return }
            try await client.remove(path, recursive: false)
        } catch let error as DFSError where error.code == .notFound {
            return
        }
        var parent = path.parent
        while let folder = parent, folder != bucket, folder.isSelfOrDescendant(of: bucket) {
            let page = try await client.listPage(folder, after: nil, limit: 1)
            guard page.entries.isEmpty else { return }
            do {
                try await client.remove(folder, recursive: false)
            } catch let error as DFSError where error.code == .notFound || error.code == .invalidArgument {
                return
            }
            parent = folder.parent
        }
    }

    /// DeleteObjects: each key as DeleteObject, the results in one document (the deleted
    /// ones left out when Quiet).
    func deleteObjects(_ bucket: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let folder = try await bucketFolder(bucket)
        let body = try await Self.collect(request, maxBytes: Self.xmlBodyBytesMax)
        let parsed = try DeleteObjectsRequest.parse(body)
        var deleted: [String] = []
        var errors: [S3DeleteError] = []
        for key in parsed.keys {
            do {
                try await removeObject(try Self.objectPath(bucket, key), bucket: folder)
                if !parsed.quiet { deleted.append(key) }
            } catch let error as S3Error {
                errors.append(S3DeleteError(key: key, error: error))
            } catch {
                errors.append(S3DeleteError(key: key, error: S3Error.internalError(DFSError.wrap(error).message)))
            }
        }
        return Self.xml(S3Documents.deleteResult(deleted: deleted, errors: errors))
    }

    // MARK: COPY

    /// CopyObject: the source read and written again by the gateway (no bytes through the
    /// client), its metadata copied unless `x-amz-metadata-directive: REPLACE` gives new.
    func copyObject(_ bucket: String, _ key: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let target = try Self.objectPath(bucket, key)
        _ = try await bucketFolder(bucket)
        guard var source = request.headers["x-amz-copy-source"].flatMap({ PercentDecoding.decode($0) }) else {
            throw S3Error.invalidArgument("x-amz-copy-source is not a valid percent-encoded bucket/key")
        }
        if let question = source.firstIndex(of: "?") { source = String(source[..<question]) }
        if source.hasPrefix("/") { source.removeFirst() }
        guard let slash = source.firstIndex(of: "/") else { throw S3Error.invalidArgument("x-amz-copy-source names no key") }
        let sourceBucket = String(source[..<slash])
        let sourceKey = String(source[source.index(after: slash)...])
        let sourcePath = try Self.objectPath(sourceBucket, sourceKey)
        let file: GetFileOK
        do {
            file = try await client.stat(sourcePath)
        } catch let error as DFSError where error.code == .notFound {
            _ = try await bucketFolder(sourceBucket)
            throw S3Error.noSuchKey(sourceKey)
        }
        guard file.info.type == .file else { throw S3Error.noSuchKey(sourceKey) }
        let replace = request.headers["x-amz-metadata-directive"]?.uppercased() == "REPLACE"
        guard replace || sourcePath != target else {
            throw S3Error.invalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata.")
        }
        let properties = replace ? Self.properties(of: request) : (file.info.properties ?? [:])
        let staged = options.stagingFolder + "/copy-" + Self.requestID() + Self.requestID()
        defer { FileSystem.removeQuietly(staged) }
        _ = try await client.download(sourcePath, to: staged)
        var uploadOptions = options.upload
        uploadOptions.etag = file.info.etag
        uploadOptions.properties = properties
        let info = try await client.upload(localPath: staged, to: target, options: uploadOptions)
        let etag = info.etag ?? Self.fallbackETag(info)
        return Self.xml(S3Documents.copyObjectResult(lastModified: Date(timeIntervalSince1970: info.mtime), etag: etag))
    }
}

extension FileInfo {
    /// Properties from request headers, within what a file version stores: S3's own limit on
    /// user metadata is 2 KiB, ours 8 KiB for everything.
    static func checkETagAndPropertiesAsS3(properties: [String: String]) throws(S3Error) {
        do {
            try checkETagAndProperties(etag: nil, properties: properties)
        } catch {
            throw S3Error(code: "MetadataTooLarge", status: .badRequest, message: error.message)
        }
    }
}
