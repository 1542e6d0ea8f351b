/// Finds and parses a request head (or a chunked body's trailer section) at the start of a
/// buffer, as its bytes arrive: a pure value, no I/O.
///
/// Each call scans only the bytes that arrived since the last, line by line, so a head that
/// comes a byte at a time costs its length once. Limits are checked as bytes arrive, not
/// once the head is whole: a request line longer than its limit is refused (414) at the
/// limit's byte, a header section (431) likewise, and a method that is not a token (400) at
/// its first bad byte, so garbage is refused at once.
///
/// Lines end with CRLF only. RFC 9112 §2.2 lets a server take a bare LF as a line end; this
/// one refuses it (400), and a CR not followed by LF, since proxies that read such lines
/// differently are how requests get smuggled. Obsolete line folding (a field line that
/// starts with whitespace) is refused too (§5.2).
struct HTTPHeadParser {
    /// What the parser reads: a request head, or only field lines (trailers).
    enum Mode {
        case request
        case trailers
    }

    let mode: Mode
    let requestLineBytesMax: Int
    let headerBytesMax: Int
    let headerFieldsMax: Int

    /// Bytes already checked; the next call starts here.
    private var scanned = 0
    /// Where the line being scanned starts.
    private var lineStart = 0
    /// Where the field lines start: nil while the request line is still coming.
    private var fieldsStart: Int?
    /// The method's end has been seen (its space), or the line is not a request line.
    private var methodChecked = false
    private var requestLine: (method: HTTPMethod, target: String, version: HTTPVersion)?
    private var headers = HTTPHeaders()

    init(mode: Mode, requestLineBytesMax: Int, headerBytesMax: Int, headerFieldsMax: Int) {
        self.mode = mode
        self.requestLineBytesMax = requestLineBytesMax
        self.headerBytesMax = headerBytesMax
        self.headerFieldsMax = headerFieldsMax
        if mode == .trailers {
            fieldsStart = 0
            methodChecked = true
        }
    }

    init(mode: Mode, options: HTTPServerOptions) {
        self.init(
            mode: mode, requestLineBytesMax: options.requestLineBytesMax, headerBytesMax: options.headerBytesMax,
            headerFieldsMax: options.headerFieldsMax)
    }

    /// What a whole head parses to, and how many bytes it took.
    struct Parsed {
        var requestLine: (method: HTTPMethod, target: String, version: HTTPVersion)?
        var headers: HTTPHeaders
        var byteCount: Int
    }

    /// Parses the head at the start of `bytes`, which hold what earlier calls saw and
    /// perhaps more. Nil until the whole head is there; throws when it breaks the syntax or
    /// a limit.
    mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPError) -> Parsed? {
        while scanned < bytes.count {
            let byte = bytes[scanned]
            if scanned > lineStart && bytes[scanned - 1] == HTTPSyntax.cr && byte != HTTPSyntax.lf {
                throw .badRequest("a CR not followed by LF in the request head")
            }
            if let fieldsStart, scanned + 1 - fieldsStart > headerBytesMax {
                throw HTTPError(
                    .requestHeaderFieldsTooLarge,
                    mode == .request
                        ? "the header section is longer than \(headerBytesMax) bytes" : "the trailer section is longer than \(headerBytesMax) bytes")
            }
            if fieldsStart == nil && scanned >= requestLineBytesMax + 2 {
                // Only empty lines come this far: they count against the request line's limit.
                throw HTTPError(.uriTooLong, "the request line is longer than \(requestLineBytesMax) bytes")
            }
            if byte == HTTPSyntax.lf {
                guard scanned > lineStart && bytes[scanned - 1] == HTTPSyntax.cr else {
                    throw .badRequest("a line of the request head ends with a bare LF; lines end with CRLF")
                }
                let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<(scanned - 1)])
                scanned += 1
                lineStart = scanned
                if fieldsStart != nil {
                    if line.isEmpty { return Parsed(requestLine: requestLine, headers: headers, byteCount: scanned) }
                    try addField(line)
                } else if !line.isEmpty {
                    // Empty lines before a request line are skipped (RFC 9112 §2.2); they count
                    // against the request line's limit.
                    requestLine = try Self.parseRequestLine(line)
                    fieldsStart = scanned
                }
                continue
            }
            try checkAsItArrives(byte)
            scanned += 1
        }
        return nil
    }

    /// The checks of a request line that need not wait for its end: its limit, and its
    /// method's bytes.
    private mutating func checkAsItArrives(_ byte: UInt8) throws(HTTPError) {
        if fieldsStart != nil { return }
        // A request line longer than the limit, CRLF not counted.
        if scanned >= requestLineBytesMax && byte != HTTPSyntax.cr {
            throw HTTPError(.uriTooLong, "the request line is longer than \(requestLineBytesMax) bytes")
        }
        if !methodChecked {
            if byte == HTTPSyntax.space {
                guard scanned > lineStart else { throw .badRequest("the request line starts with a space") }
                methodChecked = true
            } else if !HTTPSyntax.isTokenByte(byte) && !(byte == HTTPSyntax.cr && scanned == lineStart) {
                throw .badRequest("the request does not start with a method")
            }
        }
    }

    private mutating func addField(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPError) {
        guard let first = line.first, !HTTPSyntax.isWhitespace(first) else {
            throw .badRequest("a field line starts with whitespace (obsolete line folding is not accepted)")
        }
        guard headers.count < headerFieldsMax else {
            throw HTTPError(.requestHeaderFieldsTooLarge, "more than \(headerFieldsMax) \(mode == .request ? "header" : "trailer") fields")
        }
        guard let colon = line.firstIndex(of: HTTPSyntax.colon), colon > 0 else {
            throw .badRequest("a field line has no name and colon")
        }
        let name = UnsafeBufferPointer(rebasing: line[..<colon])
        guard name.allSatisfy(HTTPSyntax.isTokenByte) else {
            throw .badRequest("a field name holds a byte a token may not (whitespace before the colon?)")
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd && HTTPSyntax.isWhitespace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && HTTPSyntax.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        let value = UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd])
        guard value.allSatisfy(HTTPSyntax.isFieldValueByte) else {
            throw .badRequest("the value of field \(String(decoding: name, as: UTF8.self)) holds a control byte")
        }
        headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    /// `method SP request-target SP HTTP-version`, one space each.
    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPError) -> (method: HTTPMethod, target: String, version: HTTPVersion) {
        let parts = line.split(separator: HTTPSyntax.space, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .badRequest("the request line is not 'METHOD TARGET HTTP/1.1'")
        }
        guard parts[0].allSatisfy(HTTPSyntax.isTokenByte) else { throw .badRequest("the method is not a token") }
        guard parts[1].allSatisfy(HTTPSyntax.isTargetByte) else { throw .badRequest("the request target holds a byte a URI may not") }
        let version = try parseVersion(parts[2])
        let target = String(decoding: parts[1], as: UTF8.self)
        let method = HTTPMethod(String(decoding: parts[0], as: UTF8.self))
        guard target.hasPrefix("/") || (target == "*" && method == .options) || isAbsoluteForm(target) else {
            throw .badRequest("the request target is neither a path nor an absolute URI")
        }
        return (method, target, version)
    }

    /// `HTTP/x.y`: a malformed one is a bad request, a well-formed one other than 1.0 and
    /// 1.1 is answered 505.
    private static func parseVersion(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) throws(HTTPError) -> HTTPVersion {
        let text = Array(bytes)
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard text.count == 8, text[0..<5].elementsEqual("HTTP/".utf8), digits.contains(text[5]), text[6] == UInt8(ascii: "."), digits.contains(text[7])
        else {
            throw .badRequest("the request line does not end with an HTTP version")
        }
        let version = HTTPVersion(major: Int(text[5] - digits.lowerBound), minor: Int(text[7] - digits.lowerBound))
        guard version == .http1_1 || version == .http1_0 else {
            throw HTTPError(.httpVersionNotSupported, "\(version) is not supported; this server speaks HTTP/1.1 and HTTP/1.0")
        }
        return version
    }

    /// `scheme://...` with an http or https scheme, in any case.
    private static func isAbsoluteForm(_ target: String) -> Bool {
        let lowered = target.prefix(8).lowercased()
        return lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
    }
}
