import Testing

@testable import DFSHTTP

/// Runs bytes through an ``HTTPRequestDecoder`` in pieces of any split and gathers whole
/// requests, so tests compare what was decoded, not how the body happened to be cut.
struct DecodedRequest: Equatable {
    var head: HTTPRequestHead
    var framing: HTTPBodyFraming
    var expectsContinue: Bool
    var body: [UInt8]
    var trailers: HTTPHeaders
    /// Whether the request's end was seen.
    var ended: Bool
}

enum DecoderHarness {
    static func options(_ change: (inout HTTPServerOptions) -> Void = { _ in }) -> HTTPServerOptions {
        var options = HTTPServerOptions()
        change(&options)
        return options
    }

    /// Feeds `pieces` one after another, draining events after each.
    static func decode(pieces: [[UInt8]], options: HTTPServerOptions = HTTPServerOptions(), bodyBytesMax: Int = 7) throws(HTTPError) -> [DecodedRequest] {
        var decoder = HTTPRequestDecoder(options: options)
        var requests: [DecodedRequest] = []
        for piece in pieces {
            decoder.append(piece)
            while let event = try decoder.next(bodyBytesMax: bodyBytesMax) {
                switch event {
                case .head(let head, let framing, let expectsContinue):
                    requests.append(DecodedRequest(head: head, framing: framing, expectsContinue: expectsContinue, body: [], trailers: [:], ended: false))
                case .body(let bytes):
                    #expect(bytes.count <= bodyBytesMax && !bytes.isEmpty)
                    requests[requests.count - 1].body += bytes
                case .end(let trailers):
                    requests[requests.count - 1].trailers = trailers
                    requests[requests.count - 1].ended = true
                }
            }
        }
        return requests
    }

    static func decode(_ text: String, options: HTTPServerOptions = HTTPServerOptions()) throws(HTTPError) -> [DecodedRequest] {
        try decode(pieces: [Array(text.utf8)], options: options)
    }

    /// The error the bytes are refused with, fed whole and fed a byte at a time: both must
    /// be refused the same way.
    static func refusal(_ bytes: [UInt8], options: HTTPServerOptions = HTTPServerOptions()) -> HTTPError? {
        var whole: HTTPError?
        do { _ = try decode(pieces: [bytes], options: options) } catch { whole = error }
        var single: HTTPError?
        do { _ = try decode(pieces: bytes.map { [$0] }, options: options) } catch { single = error }
        #expect(whole?.status == single?.status, "fed whole: \(String(describing: whole)); a byte at a time: \(String(describing: single))")
        return whole
    }

    static func refusal(_ text: String, options: HTTPServerOptions = HTTPServerOptions()) -> HTTPError? {
        refusal(Array(text.utf8), options: options)
    }
}
