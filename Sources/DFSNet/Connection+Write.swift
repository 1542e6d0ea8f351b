import CTLS
import DFSCore
import DFSSystem

extension Connection {
    /// Where a frame's payload comes from.
    enum OutgoingPayload {
        case none
        /// An array, held (by reference) until written: a pointer cannot span a suspension.
        case array([UInt8])
        /// Memory the caller keeps valid until the send returns.
        case buffer(UnsafeRawBufferPointer)
        /// `count` bytes of an open file from `offset`, sent by sendfile(2).
        case file(descriptor: Int32, offset: Int, count: Int)

        var byteCount: Int {
            switch self {
            case .none: 0
            case .array(let bytes): bytes.count
            case .buffer(let bytes): bytes.count
            case .file(_, _, let count): count
            }
        }
    }

    /// Sends a message, with `payload` as its raw payload, in one `sendmsg` when the kernel has room.
    /// Suspends while the kernel's buffer is full; throws if no progress is made before `deadline`.
    public func send<M: Message>(_ message: M, payload: UnsafeRawBufferPointer? = nil, timeout: Duration) async throws {
        let header = try FrameEncoder.encode(message, payloadBytes: payload?.count ?? 0)
        try await write(header: header, payload: payload.map { .buffer($0) } ?? .none, deadline: .now + timeout)
    }

    public func send<M: Message>(_ message: M, payload: [UInt8], timeout: Duration) async throws {
        let header = try FrameEncoder.encode(message, payloadBytes: payload.count)
        try await write(header: header, payload: .array(payload), deadline: .now + timeout)
    }

    /// Sends a message whose payload is `count` bytes of the file `file` from `offset`,
    /// copied by the kernel from its page cache to the socket (sendfile(2)): the bytes never
    /// pass through this process. Throws `ioError` when the file ends early; the frame is
    /// then cut off and the connection closed.
    public func send<M: Message>(_ message: M, file: Int32, offset: Int, count: Int, timeout: Duration) async throws {
        let header = try FrameEncoder.encode(message, payloadBytes: count)
        try await write(header: header, payload: .file(descriptor: file, offset: offset, count: count), deadline: .now + timeout)
    }

    /// Sends bytes as they are, frame or not: for tools and tests that speak to a server
    /// the way a broken or hostile peer would.
    public func sendRaw(_ bytes: [UInt8], timeout: Duration) async throws {
        try await write(header: bytes, payload: .none, deadline: .now + timeout)
    }

    /// Sends a request and reads its reply; an error reply is thrown.
    public func request<Request: Message, Reply: Message>(
        _ request: Request, expecting: Reply.Type, timeout: Duration
    ) async throws -> Reply {
        try await requestResult(request, expecting: Reply.self, timeout: timeout).get()
    }

    /// Sends a request (with `payload` as its frame's payload) and reads its reply. Failures of the connection are thrown; an error
    /// the peer replied with is returned, since the connection is still in step after it.
    public func requestResult<Request: Message, Reply: Message>(
        _ request: Request, payload: [UInt8] = [], expecting: Reply.Type, timeout: Duration
    ) async throws -> Result<Reply, DFSError> {
        if payload.isEmpty {
            try await send(request, timeout: timeout)
        } else {
            try await send(request, payload: payload, timeout: timeout)
        }
        guard let frame = try await readFrame(timeout: timeout) else {
            throw DFSError(.connectionFailed, "\(name) closed the connection before replying")
        }
        if frame.type == MessageType.error.rawValue {
            return .failure(try frame.decode(ErrorMessage.self).error)
        }
        return .success(try frame.reply(Reply.self))
    }

    /// One request and its reply in one call on the connection, for a pool: nil, with
    /// nothing sent, when `unlessStale` and the connection has gone stale while idle; else
    /// the reply (or the error the peer answered) and whether the connection can be lent
    /// again.
    public func exchange<Request: Message, Reply: Message>(
        _ request: Request, expecting: Reply.Type, timeout: Duration, unlessStale: Bool
    ) async throws -> (result: Result<Reply, DFSError>, reusable: Bool)? {
        if unlessStale && isStale() { return nil }
        let result = try await requestResult(request, expecting: Reply.self, timeout: timeout)
        return (result, !isStale())
    }

    /// The one write loop: what remains of the frame goes out in as few calls as the kernel
    /// allows, waiting for room while its buffer is full.
    func write(header: [UInt8], payload: OutgoingPayload, deadline: ContinuousClock.Instant) async throws {
        await takeTurn(.output)
        defer { endTurn(.output) }
        var cursor = SendCursor(headerBytes: header.count, payloadBytes: payload.byteCount)
        do {
            while !cursor.isComplete {
                try checkOpen()
                switch try sendSome(header: header, payload: payload, cursor: cursor) {
                case .moved(let count):
                    cursor.advance(by: count)
                case .wouldBlock:
                    try await waitUntilWritable(deadline: deadline)
                case .ended:
                    throw DFSError(.ioError, "file ended \(cursor.remainingBytes) bytes early while being sent to \(name)")
                }
            }
            // TLS records still in the session go out before the frame counts as sent.
            while let tls {
                try checkOpen()
                switch tls.flush() {
                case .done: return
                case .wantWrite: try await waitUntilWritable(deadline: deadline)
                case .wantRead, .closed, .failed(_, eof: true):
                    throw DFSError(.connectionFailed, "connection to \(name) lost")
                case .failed(let reason, eof: false):
                    throw DFSError(.connectionFailed, "TLS session with \(name) failed: \(reason)")
                }
            }
        } catch {
            // A frame cut off midway leaves the stream out of step: nothing sent after it
            // could be parsed, so the connection is closed.
            if cursor.sentBytes > 0 { close() }
            throw error
        }
    }

    /// One system call with what remains after `cursor`: a sendmsg(2) of header and payload
    /// together, or, for a file, of the header alone (with MSG_MORE, so the kernel waits for
    /// the payload that follows) and then sendfile(2).
    private func sendSome(header: [UInt8], payload: OutgoingPayload, cursor: SendCursor) throws -> SocketProgress {
        if let tls { return try sendSomeTLS(tls, header: header, payload: payload, cursor: cursor) }
        let noBytes = UnsafeRawBufferPointer(start: nil, count: 0)
        switch payload {
        case .none:
            return try header.withUnsafeBytes { header in
                try send(header[cursor.headerRemaining], noBytes, more: false)
            }
        case .array(let bytes):
            return try header.withUnsafeBytes { header in
                try bytes.withUnsafeBytes { bytes in
                    try send(header[cursor.headerRemaining], UnsafeRawBufferPointer(rebasing: bytes[cursor.payloadRemaining]), more: false)
                }
            }
        case .buffer(let bytes):
            return try header.withUnsafeBytes { header in
                try send(header[cursor.headerRemaining], UnsafeRawBufferPointer(rebasing: bytes[cursor.payloadRemaining]), more: false)
            }
        case .file(let file, let offset, let count):
            if !cursor.headerRemaining.isEmpty {
                return try header.withUnsafeBytes { header in
                    try send(header[cursor.headerRemaining], noBytes, more: count > 0)
                }
            }
            SocketCalls.ignoreBrokenPipe()
            let remaining = cursor.payloadRemaining
            do {
                return try SocketCalls.sendFile(fd, from: file, offset: offset + remaining.lowerBound, count: remaining.count, peer: name)
            } catch {
                throw DFSError(.connectionFailed, "connection to \(name) lost: \(error.reason)")
            }
        }
    }

    /// One sendmsg(2) with MSG_NOSIGNAL: a peer that has gone away is an error here, never a
    /// SIGPIPE that would kill whichever process (a test runner, an embedding program) did
    /// not ignore it.
    private func send(_ header: Slice<UnsafeRawBufferPointer>, _ payload: UnsafeRawBufferPointer, more: Bool) throws -> SocketProgress {
        do {
            return try SocketCalls.send(fd, UnsafeRawBufferPointer(rebasing: header), payload, more: more, peer: name)
        } catch {
            throw DFSError(.connectionFailed, "connection to \(name) lost: \(error.reason)")
        }
    }

    /// Bytes of a small frame's header and payload that go into one TLS write together (one
    /// record, one system call), instead of a record for each.
    static let tlsJoinedBytesMax = 16 * 1024
    /// Bytes of a file read for one TLS write (sendfile(2) cannot encrypt): what one write takes.
    static let tlsFileChunkBytes = Int(DFS_TLS_WRITE_MAX)

    /// ``sendSome(header:payload:cursor:)`` on an encrypted connection: one TLS write of what
    /// remains after `cursor`. What it offers depends on the cursor alone, so a write that
    /// would block is offered the same bytes again, as TLS requires.
    private func sendSomeTLS(_ tls: TLSSession, header: [UInt8], payload: OutgoingPayload, cursor: SendCursor) throws -> SocketProgress {
        let headerRest = cursor.headerRemaining
        func withPayload(_ body: (UnsafeRawBufferPointer) throws -> SocketProgress) throws -> SocketProgress {
            switch payload {
            case .none: return try body(UnsafeRawBufferPointer(start: nil, count: 0))
            case .array(let bytes): return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[cursor.payloadRemaining])) }
            case .buffer(let bytes): return try body(UnsafeRawBufferPointer(rebasing: bytes[cursor.payloadRemaining]))
            case .file(let file, let offset, _):
                // Read into the scratch buffer: nothing else uses it until this call returns,
                // and a retry reads the same bytes again.
                let remaining = cursor.payloadRemaining
                let buffer = scratch.bytes
                let count = min(remaining.count, Self.tlsFileChunkBytes, buffer.count)
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                let read: Int
                do {
                    read = try OpenFile(adopting: file, path: "the file sent to \(name)").read(into: target, at: offset + remaining.lowerBound)
                } catch {
                    throw DFSError(.ioError, "cannot read the data sent to \(name): \(error.reason)")
                }
                if read == 0 && count > 0 { return .ended }
                return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<read]))
            }
        }
        if headerRest.isEmpty {
            return try withPayload { try sendTLS(tls, $0) }
        }
        return try header.withUnsafeBytes { headerBytes in
            let headerPart = UnsafeRawBufferPointer(rebasing: headerBytes[headerRest])
            if headerPart.count + min(cursor.payloadRemaining.count, Self.tlsJoinedBytesMax) > Self.tlsJoinedBytesMax {
                return try sendTLS(tls, headerPart)
            }
            return try withPayload { payloadPart in
                if payloadPart.isEmpty { return try sendTLS(tls, headerPart) }
                var joined = [UInt8]()
                joined.reserveCapacity(headerPart.count + payloadPart.count)
                joined.append(contentsOf: headerPart)
                joined.append(contentsOf: payloadPart)
                return try joined.withUnsafeBytes { try sendTLS(tls, $0) }
            }
        }
    }
}
