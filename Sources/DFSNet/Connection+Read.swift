import DFSCore
import DFSSystem

extension Connection {
    /// Reads the next whole frame.
    ///
    /// Returns nil when the peer closed the connection cleanly between frames. Throws when it
    /// closed in the middle of one, when the frame breaks a limit, or when the whole frame did
    /// not arrive before `deadline`.
    public func readFrame(before deadline: ContinuousClock.Instant) async throws -> Frame? {
        try await readFrame(until: deadline, frameWithin: nil, reusing: nil)
    }

    /// Reads the next frame, which must come within `timeout`.
    public func readFrame(timeout: Duration) async throws -> Frame? {
        try await readFrame(until: .now + timeout, frameWithin: nil, reusing: nil)
    }

    /// Reads the next whole frame within `timeout`; a large payload goes into `spare` (a
    /// payload read earlier and no longer needed) when it has the room. A reader that takes
    /// many large frames in turn reuses one buffer: memory the process has not touched yet
    /// costs a page fault per page to fill, several times the copy itself on some machines.
    public func readFrame(timeout: Duration, reusing spare: consuming [UInt8]?) async throws -> Frame? {
        try await readFrame(until: .now + timeout, frameWithin: nil, reusing: spare)
    }

    /// Waits up to `idle` for the next frame to begin; once its first byte is here, the rest
    /// must follow within `frame`. A server reads requests this way: a quiet client may stay
    /// a while, but one that trickles a frame byte by byte is cut off.
    public func readFrame(idle: Duration, frame: Duration) async throws -> Frame? {
        try await readFrame(until: .now + idle, frameWithin: frame, reusing: nil)
    }

    /// Reads a reply to a request: a frame must come, and an `error` frame is thrown.
    public func readReply<M: Message>(_: M.Type, timeout: Duration) async throws -> (M, Frame) {
        guard let frame = try await readFrame(until: .now + timeout, frameWithin: nil, reusing: nil) else {
            throw DFSError(.connectionFailed, "\(name) closed the connection before replying")
        }
        return (try frame.reply(M.self), frame)
    }

    /// Payloads this large are read from the socket straight into their own array, instead
    /// of through the scratch buffer and the decoder's buffer: two copies fewer per byte.
    static let directPayloadMin = 64 * 1024
    /// Bytes read at a time from a peer still in its handshake.
    static let handshakeReadBytes = 4096

    /// The one read path: whole frames out of the decoder, bytes in from the socket until it
    /// would block, then a wait. Once the header of a frame with a large payload is here, the
    /// rest of its payload is read straight into that payload's array (`spare` when it is
    /// large enough). With `frameWithin`, the deadline tightens to that long after the
    /// frame's first byte.
    private func readFrame(
        until start: ContinuousClock.Instant, frameWithin: Duration?, reusing spare: consuming [UInt8]?
    ) async throws -> Frame? {
        await takeTurn(.input)
        defer { endTurn(.input) }
        var deadline = start
        var frameStarted = frameWithin == nil
        // The frame whose payload is being read directly, and how much of it is here.
        var direct: (type: String, header: [UInt8], filled: Int)?
        var payload: [UInt8] = []
        while true {
            if let direct {
                if direct.filled == payload.count { return Frame(type: direct.type, header: direct.header, payload: payload) }
            } else {
                if let next = try decoder.nextFrame() { return next }
                if sawEndOfStream {
                    if decoder.bufferedBytes == 0 { return nil }
                    throw DFSError(
                        .connectionFailed,
                        "\(name) closed the connection in the middle of a frame (\(decoder.bufferedBytes) bytes received, \(decoder.bytesWanted) more expected)"
                    )
                }
            }
            try checkOpen()
            if !frameStarted, let frameWithin, decoder.bufferedBytes > 0 {
                frameStarted = true
                deadline = min(deadline, .now + frameWithin)
            }
            if direct == nil, let payloadBytes = decoder.pendingPayloadBytes, payloadBytes >= Self.directPayloadMin {
                // Not zeroed first: every byte is overwritten by the reads below before anyone sees it.
                payload =
                    PayloadBuffers.resized(spare.take(), to: payloadBytes)
                    ?? [UInt8](unsafeUninitializedCapacity: payloadBytes) { _, initialized in initialized = payloadBytes }
                let (type, header, copied) = payload.withUnsafeMutableBytes { decoder.takePendingFrame(into: $0) }
                direct = (type, header, copied)
                continue
            }
            let progress: SocketProgress
            if let filled = direct?.filled {
                progress = try payload.withUnsafeMutableBytes { try receive(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
                if case .moved(let count) = progress { direct!.filled += count }
            } else {
                // A peer not yet known (tiny frame limits) is read a page at a time (see
                // `scratch`): what it sends costs a few KiB however much it sends.
                let buffer = scratch.bytes
                progress = try receive(into: buffer)
                if case .moved(let count) = progress { decoder.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
            }
            switch progress {
            case .moved:
                continue
            case .ended:
                sawEndOfStream = true
                if let direct {
                    throw DFSError(
                        .connectionFailed,
                        "\(name) closed the connection in the middle of a frame (\(direct.filled) of \(payload.count) payload bytes received)")
                }
            case .wouldBlock:
                try await waitForEvent(.input, deadline: deadline)
            }
        }
    }

    /// One read(2) into `buffer`, or one TLS read on an encrypted connection.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> SocketProgress {
        if let tls { return try receiveTLS(tls, into: buffer) }
        do {
            return try SocketCalls.receive(fd, into: buffer, peer: name)
        } catch {
            throw DFSError(.connectionFailed, "connection to \(name) failed: \(error.reason)")
        }
    }
}
