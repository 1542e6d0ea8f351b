import DFSCore
import DFSNet

/// Reading a request body as its handler asks for it.
extension HTTPSession {
    /// The next piece of the current request's body, nil at its end (see
    /// ``HTTPRequestBody/read(maxBytes:)``).
    func readBody(requestNumber number: Int, maxBytes: Int) async throws -> [UInt8]? {
        guard number == requestNumber else {
            throw HTTPError(.internalServerError, "the body of a request already answered was read")
        }
        if bodyFinished { return nil }
        if broken { throw HTTPError(.badRequest, "the request body could not be read") }
        if continuePending {
            continuePending = false
            do {
                try await connection.sendBytes(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), before: .now + options.writeTimeout)
            } catch {
                broken = true
                throw error
            }
        }
        do {
            return try await nextBodyPiece(maxBytes: maxBytes)
        } catch {
            // Whatever went wrong, the rest of the stream can no longer be told apart.
            broken = true
            throw error
        }
    }

    private func nextBodyPiece(maxBytes: Int) async throws -> [UInt8]? {
        while true {
            switch try decoder.next(bodyBytesMax: maxBytes) {
            case .body(let bytes):
                return bytes
            case .end(let trailers):
                currentTrailers = trailers
                bodyFinished = true
                return nil
            case .head:
                preconditionFailure("a request head inside a body")
            case nil:
                break
            }
            if sawEndOfStream {
                throw HTTPError(.badRequest, "the client closed the connection before the whole body arrived")
            }
            // A Content-Length body read straight from the socket: no copy through the buffer.
            let direct = decoder.directBodyBytes
            let wanted = direct.map { min($0, maxBytes) } ?? HTTPLimits.bodyReadBytesMax
            let bytes: [UInt8]?
            do {
                bytes = try await connection.readSome(maxBytes: wanted, before: .now + options.bodyTimeout)
            } catch let error as DFSError where error.code == .timeout {
                throw HTTPError(.requestTimeout, "the request body stopped arriving for \(options.bodyTimeout)")
            } catch let error as DFSError {
                throw HTTPError(.badRequest, "the connection failed while the body arrived: \(error.message)")
            }
            guard let bytes else {
                sawEndOfStream = true
                continue
            }
            if direct != nil {
                decoder.consumedDirectly(bytes.count)
                return bytes
            }
            decoder.append(bytes)
        }
    }

    func trailers(requestNumber number: Int) -> HTTPHeaders {
        number == requestNumber ? currentTrailers : [:]
    }

    /// The handler left some of the body unread: reads and drops up to
    /// ``HTTPLimits/discardedBodyBytesMax`` of it so the connection can carry the next
    /// request. False when that is not possible: the client still waits for `100 Continue`
    /// (it has sent no body, and will not unless told to), the body is longer, or it fails.
    func discardBody() async -> Bool {
        if continuePending { return false }
        var dropped = 0
        while dropped <= HTTPLimits.discardedBodyBytesMax {
            do {
                guard let bytes = try await readBody(requestNumber: requestNumber, maxBytes: HTTPLimits.discardedBodyBytesMax) else { return true }
                dropped += bytes.count
            } catch {
                return false
            }
        }
        return false
    }
}
