import DFSCore
import DFSNet

/// One client connection of an ``HTTPServer``: reads requests, hands each to the handler,
/// writes its response, and keeps the connection for the next request while HTTP allows.
///
/// The decisions about bytes are the decoder's (``HTTPRequestDecoder``, pure); this actor
/// does the waiting: for a head (the idle timeout until its first byte, then the header
/// timeout), for body bytes as the handler asks for them (``HTTPSession+Body.swift``), and
/// for the client to take the response (``HTTPSession+Write.swift``). A request that breaks
/// the syntax or a limit is answered with its 4xx and `Connection: close`, then the
/// connection is closed without resetting it (see ``lingeringClose()``).
actor HTTPSession {
    let connection: Connection
    let options: HTTPServerOptions
    private let handler: HTTPHandler
    private let gates: SessionGates

    var decoder: HTTPRequestDecoder
    /// Counts requests, so that a body reader or writer kept past its request fails instead
    /// of touching the next one's bytes.
    var requestNumber = 0
    /// The current request's body has been read to its end (or it had none).
    var bodyFinished = true
    /// The client waits for `100 Continue` before it sends the body, and has not had it.
    var continuePending = false
    var currentTrailers = HTTPHeaders()
    /// The stream is out of step (a malformed body, a timeout, a response cut short): the
    /// connection must close after the current response.
    var broken = false
    /// The peer has closed its sending side.
    var sawEndOfStream = false
    /// The streamed response under way, if any.
    var stream: ResponseStream?

    init(connection: Connection, options: HTTPServerOptions, gates: SessionGates, handler: @escaping HTTPHandler) {
        self.connection = connection
        self.options = options
        self.gates = gates
        self.handler = handler
        decoder = HTTPRequestDecoder(options: options)
    }

    /// Serves requests until the client leaves, a request must end the connection, or the
    /// server stops. The caller closes the connection afterwards.
    func run() async {
        while true {
            decoder.releaseMemoryIfEmpty()
            let head: HTTPRequestHead
            let framing: HTTPBodyFraming
            do {
                guard let next = try await readHead() else { return }
                (head, framing, continuePending) = next
            } catch let error as HTTPError {
                await refuse(error)
                return
            } catch {
                return
            }
            guard gates.begin(connection) else { return }
            requestNumber += 1
            bodyFinished = false
            if framing == .none, case .end? = try? decoder.next() {
                // A request without a body has ended with its head.
                bodyFinished = true
            }
            currentTrailers = [:]
            let request = HTTPRequest(head: head, remote: connection.peer, body: makeBody(framing))
            let response = await answer(request)
            var keepAlive = head.allowsKeepAlive && !response.headers.containsToken("close", in: "Connection") && !gates.isDraining(connection)
            // The rest of a body refused as too large is not read: the connection closes.
            if keepAlive && !bodyFinished {
                keepAlive = response.status == .contentTooLarge ? false : await discardBody()
            }
            keepAlive = keepAlive && !broken
            let sent = await respond(response, to: head, keepAlive: keepAlive)
            let open = gates.end(connection)
            guard sent, keepAlive, open else {
                // Bytes the client sent that were not read could reset the connection on close.
                if sent && (!bodyFinished || broken || decoder.bufferedBytes > 0) { await lingeringClose() }
                return
            }
        }
    }

    private func makeBody(_ framing: HTTPBodyFraming) -> HTTPRequestBody {
        switch framing {
        case .none: HTTPRequestBody(session: self, requestNumber: requestNumber, declaredLength: 0, isChunked: false)
        case .length(let count): HTTPRequestBody(session: self, requestNumber: requestNumber, declaredLength: count, isChunked: false)
        case .chunked: HTTPRequestBody(session: self, requestNumber: requestNumber, declaredLength: nil, isChunked: true)
        }
    }

    /// The handler's response; a thrown ``HTTPError`` is answered as itself, anything else
    /// with 500 (and a log line: it is the server's fault, not the client's).
    private func answer(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            return try await handler(request)
        } catch let error as HTTPError {
            return error.response
        } catch {
            Log.warn(options.component, "\(request.method) \(request.path) from \(connection.peer) failed: \(DFSError.wrap(error).message)")
            return HTTPError(.internalServerError, "the server failed to answer").response
        }
    }

    /// Waits for the next request head: up to the idle timeout for its first byte, then up
    /// to the header timeout for the rest. Nil when the client leaves, or stays silent,
    /// between requests; a 408 when a head is cut off by the timeout.
    private func readHead() async throws -> (HTTPRequestHead, HTTPBodyFraming, Bool)? {
        var deadline = ContinuousClock.now + options.idleTimeout
        var started = false
        while true {
            if let event = try decoder.next() {
                guard case .head(let head, let framing, let expectsContinue) = event else {
                    preconditionFailure("a body event between requests")
                }
                return (head, framing, expectsContinue)
            }
            if !started && decoder.bufferedBytes > 0 {
                started = true
                deadline = .now + options.headerTimeout
            }
            if sawEndOfStream {
                // A client that half-closes mid-head cannot send the rest; between requests
                // it is simply done.
                return nil
            }
            do {
                guard let bytes = try await connection.readSome(maxBytes: HTTPLimits.headReadBytes, before: deadline) else {
                    sawEndOfStream = true
                    continue
                }
                decoder.append(bytes)
            } catch let error as DFSError where error.code == .timeout {
                if started { throw HTTPError(.requestTimeout, "the request head did not arrive within \(options.headerTimeout)") }
                return nil
            }
        }
    }

    /// Answers a request refused before its handler ran, then closes.
    private func refuse(_ error: HTTPError) async {
        let bytes = HTTPResponseEncoder.refusal(error, serverName: options.serverName, date: HTTPDate.now())
        do {
            try await connection.sendBytes(bytes, before: .now + options.writeTimeout)
        } catch {
            return
        }
        await lingeringClose()
    }

    /// Half-closes, then reads and drops what the client still sends, for a short while,
    /// before the socket is closed: closing with unread bytes makes the kernel reset the
    /// connection, and a reset can make the client lose the response it has not read yet.
    func lingeringClose() async {
        await connection.shutdownOutput()
        let deadline = ContinuousClock.now + options.lingerTimeout
        var dropped = 0
        while dropped < HTTPLimits.lingerBytesMax && !sawEndOfStream {
            guard let bytes = try? await connection.readSome(maxBytes: HTTPLimits.headReadBytes, before: deadline) else { break }
            dropped += bytes.count
        }
        await connection.close()
    }
}
