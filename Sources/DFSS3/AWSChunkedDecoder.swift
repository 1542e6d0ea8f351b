import Crypto

/// Why an aws-chunked body was refused; each case maps to the S3 error a client expects.
public enum S3ChunkError: Error, Equatable, Sendable {
    /// The body does not follow the aws-chunked format, or breaks one of its limits.
    case malformed(String)
    /// A chunk's or the trailer's signature is not the one the signing key gives.
    case signatureDoesNotMatch
    /// The body ended before its final chunk (and trailer) arrived.
    case incompleteBody
    /// The checksum in the trailer is not the checksum of the data.
    case badDigest(S3ChecksumAlgorithm)
    /// The data's length is not `x-amz-decoded-content-length`.
    case decodedLengthMismatch(declared: Int, received: Int)

    /// The S3 error code to send.
    public var code: String {
        switch self {
        case .malformed: "InvalidRequest"
        case .signatureDoesNotMatch: "SignatureDoesNotMatch"
        case .incompleteBody: "IncompleteBody"
        case .badDigest: "BadDigest"
        case .decodedLengthMismatch(let declared, let received): received < declared ? "IncompleteBody" : "InvalidRequest"
        }
    }

    /// The message to send with ``code``.
    public var message: String {
        switch self {
        case .malformed(let detail): "The aws-chunked body is malformed: \(detail)"
        case .signatureDoesNotMatch:
            "The chunk signature we calculated does not match the signature you provided. Check your key and signing method."
        case .incompleteBody: "The body ended before its final chunk."
        case .badDigest(let algorithm): "The \(algorithm.rawValue.uppercased()) you specified did not match the calculated checksum."
        case .decodedLengthMismatch(let declared, let received):
            "The body holds \(received) bytes of data or more, but x-amz-decoded-content-length says \(declared)."
        }
    }
}

/// Decodes an aws-chunked body as it arrives, verifying each chunk's signature (when the
/// chunks are signed) and, with a trailer, the trailer's signature and the checksum it
/// declares; gives back the data bytes only.
///
/// A chunk is `<hex size>[;chunk-signature=<64 hex>]\r\n<data>\r\n`; the last has size 0 and
/// is followed by the trailer's `name:value\r\n` lines (none without a trailer) and `\r\n`.
/// The decoder holds at most one chunk line or the trailer, never chunk data: data is handed
/// back as it arrives, before its chunk's signature is checked at the chunk's end. A bad
/// signature therefore throws after some of its chunk was returned, and the caller then
/// discards the whole upload.
public struct AWSChunkedDecoder: Sendable {
    /// Longest chunk line, extensions included (a signed one is 86 bytes).
    public static let chunkLineBytesMax = 4096
    /// Largest chunk. Clients send 64 KiB (the SDKs) to 8 MiB; a larger size is refused before
    /// any of its data is read.
    public static let chunkBytesMax = 16 * 1024 * 1024
    /// Longest trailer section: a checksum and a signature take about 150 bytes.
    public static let trailerBytesMax = 16 * 1024

    fileprivate enum State: Sendable {
        case chunkLine
        case chunkData(remaining: Int)
        /// Expecting the `\r\n` after a chunk's data; `seen` of its two bytes arrived.
        case chunkDataEnd(seen: Int)
        case trailer
        case complete
    }

    private let signing: ChunkSigning?
    private let trailerAlgorithm: S3ChecksumAlgorithm?
    private let decodedLength: Int?
    private var state = State.chunkLine
    private var failure: S3ChunkError?
    /// The chunk or trailer line arriving, without its `\r\n`.
    private var line: [UInt8] = []
    private var trailerLines: [[UInt8]] = []
    private var trailerBytes = 0
    private var previousSignature: String
    private var claimedSignature = ""
    private var chunkHash = SendableHash<SHA256>()
    private var checksum: S3Checksum?
    private var decodedCount = 0

    /// The checksum the trailer carried (base64), once it has been checked.
    public private(set) var trailerChecksum: String?

    /// `signing`: from ``SigV4Verified/chunkSigning``, nil when the chunks are not signed
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`). `trailerChecksum`: the algorithm the
    /// `x-amz-trailer` header names, nil when there is none. `decodedLength`:
    /// `x-amz-decoded-content-length`, which the data's length must match.
    public init(signing: ChunkSigning?, trailerChecksum: S3ChecksumAlgorithm?, decodedLength: Int?) {
        self.signing = signing
        self.trailerAlgorithm = trailerChecksum
        self.decodedLength = decodedLength
        self.previousSignature = signing?.seedSignature ?? ""
        self.checksum = trailerChecksum.map { S3Checksum($0) }
    }

    /// True once the final chunk (and the trailer) arrived and checked out.
    public var isComplete: Bool {
        if case .complete = state { return failure == nil }
        return false
    }

    /// Feeds the next bytes of the body as they arrive, split anywhere; returns the data bytes
    /// they complete. After a throw, every later call throws the same error.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(S3ChunkError) -> [UInt8] {
        if let failure { throw failure }
        let input = Array(bytes)
        var output: [UInt8] = []
        do {
            try decode(input, into: &output)
        } catch {
            failure = error
            throw error
        }
        return output
    }

    /// After the body ended: throws unless the final chunk (and trailer, its signature and
    /// checksum) arrived and the data's length matched.
    public mutating func finish() throws(S3ChunkError) {
        if let failure { throw failure }
        // Tolerate a body that ends after the trailer's lines without the blank line that
        // should close them: everything the signature and checksum cover has arrived.
        if case .trailer = state, line.isEmpty, !trailerLines.isEmpty {
            do {
                try endTrailer()
            } catch {
                failure = error
                throw error
            }
        }
        guard case .complete = state else {
            failure = .incompleteBody
            throw .incompleteBody
        }
    }

    private mutating func decode(_ input: [UInt8], into output: inout [UInt8]) throws(S3ChunkError) {
        var index = 0
        while index < input.count {
            switch state {
            case .chunkLine:
                guard try takeLine(input, from: &index, limit: Self.chunkLineBytesMax) else { return }
                try startChunk()
            case .chunkData(let remaining):
                let count = min(remaining, input.count - index)
                let data = input[index..<(index + count)]
                // Wrapping cannot happen before 2^63 bytes; it must not trap even then.
                decodedCount &+= count
                if let decodedLength, decodedCount > decodedLength {
                    throw .decodedLengthMismatch(declared: decodedLength, received: decodedCount)
                }
                if signing != nil { data.withUnsafeBytes { chunkHash.function.update(bufferPointer: $0) } }
                checksum?.update(data)
                output.append(contentsOf: data)
                index += count
                state = remaining == count ? .chunkDataEnd(seen: 0) : .chunkData(remaining: remaining - count)
            case .chunkDataEnd(let seen):
                let expected = seen == 0 ? UInt8(ascii: "\r") : UInt8(ascii: "\n")
                guard input[index] == expected else { throw .malformed("a chunk's data is not followed by CRLF") }
                index += 1
                if seen == 0 {
                    state = .chunkDataEnd(seen: 1)
                } else {
                    try checkChunkSignature()
                    state = .chunkLine
                }
            case .trailer:
                guard try takeLine(input, from: &index, limit: Self.trailerBytesMax - trailerBytes) else { return }
                trailerBytes += line.count + 2
                if line.isEmpty {
                    try endTrailer()
                } else {
                    guard trailerAlgorithm != nil else { throw .malformed("the body has a trailer, but no x-amz-trailer header announced one") }
                    trailerLines.append(line)
                    line = []
                }
            case .complete:
                throw .malformed("bytes follow the end of the body")
            }
        }
    }

    /// Moves bytes into ``line`` up to a `\r\n`; true when the line is whole. `limit` bounds
    /// the line without its `\r\n`.
    private mutating func takeLine(_ input: [UInt8], from index: inout Int, limit: Int) throws(S3ChunkError) -> Bool {
        while index < input.count {
            let byte = input[index]
            index += 1
            if byte == UInt8(ascii: "\n") {
                guard line.last == UInt8(ascii: "\r") else { throw .malformed("a line ends in LF without CR") }
                line.removeLast()
                return true
            }
            line.append(byte)
            // One more than the limit, for the `\r` that may end the line.
            guard line.count <= limit + 1 else {
                throw .malformed(state.isTrailer ? "the trailer is longer than \(Self.trailerBytesMax) bytes" : "a chunk line is longer than \(limit) bytes")
            }
        }
        return false
    }

    /// Reads the chunk line in ``line``: its size, and its signature when chunks are signed.
    private mutating func startChunk() throws(S3ChunkError) {
        defer { line = [] }
        let parts = line.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        let sizeDigits = parts[0]
        guard !sizeDigits.isEmpty, sizeDigits.count <= 8 else { throw .malformed("a chunk size is not 1 to 8 hex digits") }
        var size = 0
        for digit in sizeDigits {
            guard let value = SigV4.hexValue(digit) else { throw .malformed("a chunk size is not hex") }
            size = size << 4 | Int(value)
        }
        guard size <= Self.chunkBytesMax else { throw .malformed("a chunk of \(size) bytes is larger than \(Self.chunkBytesMax)") }

        if signing != nil {
            let prefix = Array("chunk-signature=".utf8)
            guard parts.count == 2, parts[1].starts(with: prefix) else { throw .malformed("a chunk line has no chunk-signature") }
            let signature = String(decoding: parts[1].dropFirst(prefix.count), as: UTF8.self)
            guard SigV4.isHash(signature) else { throw .malformed("a chunk signature is not 64 hex digits") }
            claimedSignature = signature.lowercased()
            chunkHash = SendableHash()
        }
        if size > 0 {
            state = .chunkData(remaining: size)
            return
        }
        try checkChunkSignature()
        if let decodedLength, decodedCount != decodedLength {
            throw .decodedLengthMismatch(declared: decodedLength, received: decodedCount)
        }
        state = .trailer
    }

    private mutating func checkChunkSignature() throws(S3ChunkError) {
        guard let signing else { return }
        let expected = signing.chunkSignature(previous: previousSignature, dataHash: SigV4.hex(chunkHash.function.finalize()))
        guard SigV4.constantTimeEqual(expected, claimedSignature) else { throw .signatureDoesNotMatch }
        previousSignature = claimedSignature
    }

    /// Checks the trailer's signature and checksum once its lines have all arrived.
    private mutating func endTrailer() throws(S3ChunkError) {
        if let trailerAlgorithm, let checksum {
            var received: String?
            var signature: String?
            var canonical: [UInt8] = []
            for line in trailerLines {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("a trailer line is not name:value") }
                let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                let value = SigV4.trimmingHeaderValue(String(decoding: line[(colon + 1)...], as: UTF8.self))
                if name == "x-amz-trailer-signature" {
                    guard signature == nil else { throw .malformed("the trailer has two signatures") }
                    signature = value
                    continue
                }
                if name == trailerAlgorithm.headerName {
                    guard received == nil else { throw .malformed("the trailer has \(name) twice") }
                    received = value
                }
                canonical += Array("\(name):\(value)\n".utf8)
            }
            guard let received else { throw .malformed("the trailer has no \(trailerAlgorithm.headerName)") }
            if let signing {
                guard let signature, SigV4.isHash(signature) else { throw .malformed("the trailer has no x-amz-trailer-signature") }
                let expected = signing.trailerSignature(previous: previousSignature, trailerHash: SigV4.sha256Hex(canonical))
                guard SigV4.constantTimeEqual(expected, signature) else { throw .signatureDoesNotMatch }
            }
            guard received == checksum.base64() else { throw .badDigest(trailerAlgorithm) }
            trailerChecksum = received
        }
        trailerLines = []
        state = .complete
    }
}

extension AWSChunkedDecoder.State {
    fileprivate var isTrailer: Bool {
        if case .trailer = self { return true }
        return false
    }
}
