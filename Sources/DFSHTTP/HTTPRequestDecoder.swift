/// Turns the bytes of a connection into requests: each as a head, pieces of its body, and
/// an end (with a chunked body's trailers). A pure value: the server appends what it reads
/// and asks for the next event, and tests feed it bytes in any split they like.
///
/// It holds only what has arrived and not yet been handed out: at most a head (bounded by
/// the head limits) and one read beyond it. Pipelined requests wait in the buffer, untouched,
/// until the request before them has ended.
struct HTTPRequestDecoder {
    enum Event: Equatable {
        case head(HTTPRequestHead, framing: HTTPBodyFraming, expectsContinue: Bool)
        case body([UInt8])
        case end(trailers: HTTPHeaders)
    }

    private enum State {
        case head(HTTPHeadParser)
        /// `remaining` bytes of a Content-Length body are still to come.
        case length(remaining: Int)
        case chunkLine
        case chunkData(remaining: Int)
        /// The CRLF that ends a chunk's data.
        case chunkDataEnd
        case trailers(HTTPHeadParser)
    }

    let options: HTTPServerOptions
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var state: State

    init(options: HTTPServerOptions) {
        self.options = options
        state = .head(HTTPHeadParser(mode: .request, options: options))
    }

    /// Bytes received and not yet handed out.
    var bufferedBytes: Int { buffer.count - readIndex }

    /// True between requests: the last one has ended and none has begun to be parsed.
    var isBetweenRequests: Bool {
        if case .head = state { return true }
        return false
    }

    mutating func append(_ bytes: some Collection<UInt8>) {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            // Moved down once at least half is spent: each byte moves at most once more.
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Frees the buffer when it holds nothing: an idle connection keeps no memory here.
    mutating func releaseMemoryIfEmpty() {
        if readIndex == buffer.count {
            buffer = []
            readIndex = 0
        }
    }

    /// With a Content-Length body under way and nothing buffered, how many body bytes may be
    /// read from the socket straight to the handler (``consumedDirectly(_:)`` then counts
    /// them), without passing through this buffer.
    var directBodyBytes: Int? {
        guard bufferedBytes == 0, case .length(let remaining) = state, remaining > 0 else { return nil }
        return remaining
    }

    mutating func consumedDirectly(_ count: Int) {
        guard case .length(let remaining) = state else { preconditionFailure("bytes read directly outside a Content-Length body") }
        precondition(count <= remaining, "read past the body")
        state = .length(remaining: remaining - count)
    }

    /// The next event, or nil when more bytes are needed. A body piece holds at most
    /// `bodyBytesMax` bytes. Throws when the bytes break the syntax or a limit: the stream is
    /// then out of step and the connection must end.
    mutating func next(bodyBytesMax: Int = HTTPLimits.bodyReadBytesMax) throws(HTTPError) -> Event? {
        precondition(bodyBytesMax > 0, "a body piece of no bytes")
        while true {
            switch state {
            case .head(var parser):
                guard let parsed = try parse(&parser), let line = parsed.requestLine else {
                    state = .head(parser)
                    return nil
                }
                let head = HTTPRequestHead(method: line.method, target: line.target, version: line.version, headers: parsed.headers)
                let expectsContinue = try HTTPBodyFraming.checkHead(head)
                let framing = try HTTPBodyFraming.of(head)
                switch framing {
                case .none: state = .length(remaining: 0)
                case .length(let count): state = .length(remaining: count)
                case .chunked: state = .chunkLine
                }
                return .head(head, framing: framing, expectsContinue: expectsContinue && framing != .none)
            case .length(let remaining):
                if remaining == 0 {
                    state = .head(HTTPHeadParser(mode: .request, options: options))
                    return .end(trailers: [:])
                }
                guard bufferedBytes > 0 else { return nil }
                let count = min(remaining, bufferedBytes, bodyBytesMax)
                state = .length(remaining: remaining - count)
                return .body(take(count))
            case .chunkLine:
                guard let size = try parseChunkLine() else { return nil }
                state = size == 0 ? .trailers(HTTPHeadParser(mode: .trailers, options: options)) : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard bufferedBytes > 0 else { return nil }
                let count = min(remaining, bufferedBytes, bodyBytesMax)
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                return .body(take(count))
            case .chunkDataEnd:
                guard bufferedBytes >= 2 else {
                    if bufferedBytes == 1 && buffer[readIndex] != HTTPSyntax.cr { throw .badRequest("a chunk is longer than its size says") }
                    return nil
                }
                guard buffer[readIndex] == HTTPSyntax.cr && buffer[readIndex + 1] == HTTPSyntax.lf else {
                    throw .badRequest("a chunk is longer than its size says")
                }
                readIndex += 2
                state = .chunkLine
            case .trailers(var parser):
                guard let parsed = try parse(&parser) else {
                    state = .trailers(parser)
                    return nil
                }
                state = .head(HTTPHeadParser(mode: .request, options: options))
                return .end(trailers: parsed.headers)
            }
        }
    }

    /// Runs `parser` over the unread bytes; a whole head is taken out of the buffer.
    private mutating func parse(_ parser: inout HTTPHeadParser) throws(HTTPError) -> HTTPHeadParser.Parsed? {
        let start = readIndex
        let result = buffer.withUnsafeBufferPointer { all in
            let unread = UnsafeBufferPointer(rebasing: all[start...])
            return Result { () throws(HTTPError) in try parser.parse(unread) }
        }
        guard let parsed = try result.get() else { return nil }
        readIndex += parsed.byteCount
        return parsed
    }

    /// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1): the size in hex, then extensions,
    /// which are checked for stray bytes and skipped. Nil until the whole line is here.
    private mutating func parseChunkLine() throws(HTTPError) -> Int? {
        let unread = buffer[readIndex...]
        let window = unread.prefix(options.chunkLineBytesMax + 2)
        guard let lineFeed = window.firstIndex(of: HTTPSyntax.lf) else {
            if window.count > options.chunkLineBytesMax + 1 { throw .badRequest("a chunk-size line is longer than \(options.chunkLineBytesMax) bytes") }
            if let stray = window.first(where: { $0 != HTTPSyntax.cr && !HTTPSyntax.isFieldValueByte($0) }) {
                throw .badRequest("a chunk-size line holds byte \(stray)")
            }
            return nil
        }
        guard lineFeed > readIndex, buffer[lineFeed - 1] == HTTPSyntax.cr else { throw .badRequest("a chunk-size line ends with a bare LF") }
        let line = buffer[readIndex..<(lineFeed - 1)]
        var size = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = HTTPSyntax.hexValue(line[index]) {
            // 15 hex digits is 2^60: far past any body, and no overflow in the multiply.
            guard index - line.startIndex < 15 else { throw .badRequest("a chunk size is too large") }
            size = size * 16 + digit
            index += 1
        }
        guard index > line.startIndex else { throw .badRequest("a chunk does not start with its size in hex") }
        let extensions = line[index...]
        if let first = extensions.firstIndex(where: { !HTTPSyntax.isWhitespace($0) }) {
            guard line[first] == UInt8(ascii: ";"), extensions.allSatisfy(HTTPSyntax.isFieldValueByte) else {
                throw .badRequest("a chunk size is followed by something other than an extension")
            }
        }
        readIndex = lineFeed + 1
        return size
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        let bytes = Array(buffer[readIndex..<(readIndex + count)])
        readIndex += count
        return bytes
    }
}
