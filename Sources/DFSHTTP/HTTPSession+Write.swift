import DFSCore
import DFSNet

/// Writing a response: its head, then its body whole or streamed by the handler.
extension HTTPSession {
    /// A streamed body under way: its framing and how much of it has gone.
    struct ResponseStream {
        let requestNumber: Int
        let framing: HTTPResponseEncoder.Framing
        var writtenBytes = 0
    }

    /// Sends `response` to the request `head`. False when the connection failed or the
    /// body was cut short: the connection must then end without further ado.
    func respond(_ response: HTTPResponse, to head: HTTPRequestHead, keepAlive: Bool) async -> Bool {
        var response = response
        if let bad = response.headers.first(where: { !HTTPSyntax.isValidField(name: $0.name, value: $0.value) }) {
            Log.warn(options.component, "a response to \(head.method) \(head.path) carried a malformed field '\(bad.name)'; answering 500 instead")
            response = HTTPError(.internalServerError, "the server built a malformed response").response
        }
        var close = !keepAlive
        let framing: HTTPResponseEncoder.Framing
        switch response.body {
        case _ where !response.status.allowsBody: framing = .none
        case .bytes(let bytes): framing = .length(bytes.count)
        case .stream(let length?, _): framing = .length(length)
        case .stream(nil, _) where head.version == .http1_1: framing = .chunked
        case .stream(nil, _):
            framing = .untilClose
            close = true
        }
        let headBytes = HTTPResponseEncoder.head(
            status: response.status, headers: response.headers, framing: framing, close: close, serverName: options.serverName, date: HTTPDate.now())
        let deadline = ContinuousClock.now + options.writeTimeout
        do {
            if head.method == .head || framing == .none {
                try await connection.sendBytes(headBytes, before: deadline)
                return true
            }
            switch response.body {
            case .bytes(let bytes):
                try await connection.sendBytes(headBytes, bytes, before: deadline)
                return true
            case .stream(_, let write):
                try await connection.sendBytes(headBytes, before: deadline)
                return await sendStream(write, framing: framing)
            }
        } catch {
            return false
        }
    }

    /// Runs the handler's body writer, then ends the body as its framing says.
    private func sendStream(_ write: @Sendable (HTTPBodyWriter) async throws -> Void, framing: HTTPResponseEncoder.Framing) async -> Bool {
        stream = ResponseStream(requestNumber: requestNumber, framing: framing)
        defer { stream = nil }
        do {
            try await write(HTTPBodyWriter(session: self, requestNumber: requestNumber))
            guard let finished = stream else { return false }
            switch framing {
            case .chunked:
                try await connection.sendBytes(HTTPResponseEncoder.lastChunk(afterData: finished.writtenBytes > 0), before: .now + options.writeTimeout)
                return true
            case .length(let count):
                if finished.writtenBytes == count { return true }
                Log.warn(options.component, "a streamed response ended after \(finished.writtenBytes) of its \(count) bytes; closing the connection")
                broken = true
                return false
            case .untilClose, .none:
                return true
            }
        } catch {
            Log.info(options.component, "a streamed response to \(connection.peer) was cut short: \(DFSError.wrap(error).message)")
            broken = true
            return false
        }
    }

    /// One piece of a streamed body (see ``HTTPBodyWriter/write(_:)``).
    func writeBody(_ bytes: [UInt8], requestNumber number: Int) async throws {
        guard var current = stream, current.requestNumber == number else {
            throw HTTPError(.internalServerError, "a response body was written outside its response")
        }
        guard !bytes.isEmpty else { return }
        let deadline = ContinuousClock.now + options.writeTimeout
        switch current.framing {
        case .chunked:
            try await connection.sendBytes(HTTPResponseEncoder.chunkPrefix(byteCount: bytes.count, first: current.writtenBytes == 0), bytes, before: deadline)
        case .length(let count):
            guard current.writtenBytes + bytes.count <= count else {
                throw HTTPError(.internalServerError, "a streamed response is longer than the \(count) bytes it declared")
            }
            try await connection.sendBytes([], bytes, before: deadline)
        case .untilClose:
            try await connection.sendBytes([], bytes, before: deadline)
        case .none:
            return
        }
        current.writtenBytes += bytes.count
        // Re-read after the wait: the stream may have ended meanwhile.
        if stream?.requestNumber == number { stream?.writtenBytes = current.writtenBytes }
    }
}
