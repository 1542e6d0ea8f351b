import CNetShims
import DFSCore
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP connection: a non-blocking socket whose Dispatch read and write sources fire on
/// the same serial queue the actor runs on.
///
/// Frames are read and written inside actor methods that suspend only when the socket would
/// block. The read source is armed only while a reader waits, so a slow reader leaves the
/// bytes in the kernel, whose full buffer closes the TCP window: the sender is stopped, no
/// buffer grows. A writer waits the same way for room in the kernel's send buffer.
///
/// The sources do not watch the socket itself but a watcher: an epoll descriptor of its own
/// per direction (see `dfs_epoll_watching`), readable exactly while the socket is readable
/// (or writable), has failed or has hung up. Dispatch's Linux event loop mishandles a hang-up
/// (EPOLLHUP, which a peer's reset raises) on a descriptor it watches: it unregisters the
/// source from a worker thread while its manager thread still walks the same bookkeeping,
/// a race that freed its records under it and crashed the process. A watcher reports only
/// "readable", never a hang-up, so that path is never taken; and each source has a
/// descriptor of its own, so no Dispatch record is ever shared by a reader and a writer.
public actor Connection {
    private let executor: QueueExecutor
    nonisolated public var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let fd: Int32
    /// The far side, for logs and error messages.
    public nonisolated let peer: Endpoint
    /// Text used to name the far side in errors: the endpoint the caller dialled, or the peer.
    public nonisolated let name: String

    private var decoder = FrameDecoder()
    /// Bytes are read here, then appended to the decoder: one copy of what arrived, instead
    /// of growing the decoder's buffer by a whole read size on every call.
    private let scratch = ScratchBuffer(byteCount: Limits.socketReadBytes)
    private let readSource: any DispatchSourceRead
    /// Made on the first write that finds the kernel's buffer full: most connections never
    /// need one, and fewer sources mean less work for Dispatch's event loop. It is a read
    /// source on the write watcher, which is readable when the socket has room.
    private var writeSource: (any DispatchSourceRead)?
    private var readArmed = false
    private var writeArmed = false
    private var readWaiter: CheckedContinuation<Void, any Error>?
    private var writeWaiter: CheckedContinuation<Void, any Error>?
    /// Distinguish one wait from the next in each direction, so a late timer cannot end a
    /// newer wait, and a writer's waits never disarm a reader's deadline (nor the reverse).
    private var readGeneration: UInt64 = 0
    private var writeGeneration: UInt64 = 0
    /// One reader and one writer at a time; others queue in order instead of interleaving.
    private var readTurn = Turn()
    private var writeTurn = Turn()
    /// A source fired while nobody waited. Linux's sources behave as edge-triggered: the event
    /// will not come again, so the next waiter must not wait for it and tries the call instead.
    private var readReady = false
    private var writeReady = false
    private var sawEndOfStream = false
    private var sourcesOpen = 1
    public private(set) var isClosed = false

    /// Takes ownership of a connected, non-blocking socket. Throws (and leaves the socket to
    /// the caller) when no descriptor is left for the read watcher.
    init(fd: Int32, peer: Endpoint, name: String? = nil) throws {
        let name = name ?? peer.description
        let watcher = try Self.watch(fd, forOutput: false, name: name)
        self.fd = fd
        self.peer = peer
        self.name = name
        executor = QueueExecutor(label: "dfs.connection")
        let read = DispatchSource.makeReadSource(fileDescriptor: watcher, queue: executor.queue)
        readSource = read
        // Handlers capture self strongly; the cycle is broken in the cancel handlers.
        read.setEventHandler { [self] in self.assumeIsolated { $0.readable() } }
        read.setCancelHandler { [self] in self.assumeIsolated { $0.sourceCancelled(watcher: watcher) } }
        // The read source starts disarmed: activated, then suspended until a reader waits.
        read.activate()
        read.suspend()
    }

    /// A new epoll descriptor that watches `fd` in one direction, for one Dispatch source.
    private static func watch(_ fd: Int32, forOutput: Bool, name: String) throws -> Int32 {
        let watcher = dfs_epoll_watching(fd, forOutput ? 1 : 0)
        guard watcher >= 0 else {
            throw DFSError(.connectionFailed, "cannot watch the connection to \(name): \(Socket.describe(errno))")
        }
        return watcher
    }

    /// The write source on a new write watcher, made armed (activated, not suspended) for a
    /// writer about to wait.
    private func makeArmedWriteSource(watcher: Int32) -> any DispatchSourceRead {
        let write = DispatchSource.makeReadSource(fileDescriptor: watcher, queue: executor.queue)
        write.setEventHandler { [self] in self.assumeIsolated { $0.writable() } }
        write.setCancelHandler { [self] in self.assumeIsolated { $0.sourceCancelled(watcher: watcher) } }
        sourcesOpen += 1
        write.activate()
        return write
    }

    // MARK: Reading

    /// Reads the next whole frame.
    ///
    /// Returns nil when the peer closed the connection cleanly between frames. Throws when it
    /// closed in the middle of one, when the frame breaks a limit, or when the whole frame did
    /// not arrive before `deadline`.
    public func readFrame(before deadline: ContinuousClock.Instant) async throws -> Frame? {
        try await readFrame(until: deadline, frame: nil, reusing: nil)
    }

    /// Reads the next whole frame within `timeout`; a large payload goes into `spare` (a
    /// payload read earlier and no longer needed) when it has the room. A reader that takes
    /// many large frames in turn reuses one buffer: memory the process has not touched yet
    /// costs a page fault per page to fill, several times the copy itself on some machines.
    public func readFrame(timeout: Duration, reusing spare: consuming [UInt8]?) async throws -> Frame? {
        try await readFrame(until: .now + timeout, frame: nil, reusing: spare)
    }

    /// Waits up to `idle` for the next frame to begin; once its first byte is here, the rest
    /// must follow within `frame`. A server reads requests this way: a quiet client may stay
    /// a while, but one that trickles a frame byte by byte is cut off.
    public func readFrame(idle: Duration, frame: Duration) async throws -> Frame? {
        try await readFrame(until: .now + idle, frame: frame, reusing: nil)
    }

    /// The read loop: whole frames out of the decoder, bytes in from the socket until it
    /// would block, then a wait. With `frame`, the deadline tightens to that long after the
    /// frame's first byte.
    private func readFrame(until start: ContinuousClock.Instant, frame: Duration?, reusing spare: consuming [UInt8]?) async throws -> Frame? {
        await takeTurn(reading: true)
        defer { endTurn(reading: true) }
        var deadline = start
        var frameStarted = frame == nil
        while true {
            if let next = try decoder.nextFrame() { return next }
            if sawEndOfStream {
                if decoder.bufferedBytes == 0 { return nil }
                throw DFSError(
                    .connectionFailed,
                    "\(name) closed the connection in the middle of a frame (\(decoder.bufferedBytes) bytes received, \(decoder.bytesWanted) more expected)")
            }
            try checkOpen()
            if !frameStarted, let frame, decoder.bufferedBytes > 0 {
                frameStarted = true
                deadline = min(deadline, .now + frame)
            }
            if let payloadBytes = decoder.pendingPayloadBytes, payloadBytes >= Self.directPayloadMin {
                return try await readPayloadDirectly(payloadBytes, deadline: deadline, into: spare)
            }
            if try readAvailable() { continue }
            try await waitUntilReadable(deadline: deadline)
        }
    }

    /// Payloads this large are read from the socket straight into their own array, instead
    /// of through the scratch buffer and the decoder's buffer: two copies fewer per byte.
    static let directPayloadMin = 64 * 1024

    /// Reads the rest of the frame under way, whose header has arrived, into `spare` when it
    /// is large enough, else into a new array.
    private func readPayloadDirectly(
        _ payloadBytes: Int, deadline: ContinuousClock.Instant, into spare: consuming [UInt8]?
    ) async throws -> Frame {
        // Not zeroed first: every byte is overwritten by the read below before anyone sees it.
        var payload =
            PayloadBuffers.resized(spare, to: payloadBytes)
            ?? [UInt8](unsafeUninitializedCapacity: payloadBytes) { _, initialized in initialized = payloadBytes }
        let (type, header, copied) = payload.withUnsafeMutableBytes { decoder.takePendingFrame(into: $0) }
        var filled = copied
        while filled < payloadBytes {
            try checkOpen()
            let count = payload.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress! + filled, payloadBytes - filled)
            }
            if count > 0 {
                filled += count
                continue
            }
            if count == 0 {
                sawEndOfStream = true
                throw DFSError(
                    .connectionFailed, "\(name) closed the connection in the middle of a frame (\(filled) of \(payloadBytes) payload bytes received)")
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try await waitUntilReadable(deadline: deadline)
            case let code: throw DFSError(.connectionFailed, "connection to \(name) failed: \(Socket.describe(code))")
            }
        }
        return Frame(type: type, header: header, payload: payload)
    }

    /// Reads the next frame, which must come within `timeout`.
    public func readFrame(timeout: Duration) async throws -> Frame? {
        try await readFrame(before: .now + timeout)
    }

    /// Reads a reply to a request: a frame must come, and an `error` frame is thrown.
    public func readReply<M: Message>(_: M.Type, timeout: Duration) async throws -> (M, Frame) {
        guard let frame = try await readFrame(timeout: timeout) else {
            throw DFSError(.connectionFailed, "\(name) closed the connection before replying")
        }
        return (try frame.reply(M.self), frame)
    }

    /// Reads from the socket into the decoder until it would block. Returns true if bytes
    /// arrived or the stream ended.
    private func readAvailable() throws -> Bool {
        while true {
            let count = Glibc.read(fd, scratch.bytes.baseAddress, scratch.bytes.count)
            if count > 0 {
                decoder.append(UnsafeRawBufferPointer(rebasing: scratch.bytes[0..<count]))
                return true
            }
            if count == 0 {
                sawEndOfStream = true
                return true
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return false
            case let code:
                throw DFSError(.connectionFailed, "connection to \(name) failed: \(Socket.describe(code))")
            }
        }
    }

    private func waitUntilReadable(deadline: ContinuousClock.Instant) async throws {
        if readReady {
            readReady = false
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                readWaiter = continuation
                if !readArmed {
                    readArmed = true
                    readSource.resume()
                }
                scheduleTimeout(deadline: deadline, reading: true)
            }
        } onCancel: {
            executor.queue.async { [self] in
                self.assumeIsolated { $0.failWaiter(reading: true, DFSError(.timeout, "operation on \(name) was cancelled")) }
            }
        }
    }

    private func readable() {
        if readArmed {
            readArmed = false
            readSource.suspend()
        }
        if let waiter = readWaiter {
            readWaiter = nil
            waiter.resume()
        } else {
            readReady = true
        }
    }

    // MARK: Writing

    /// Sends a message, with `payload` as its raw payload, in one `sendmsg` when the kernel has room.
    /// Suspends while the kernel's buffer is full; throws if no progress is made before `deadline`.
    public func send<M: Message>(_ message: M, payload: UnsafeRawBufferPointer? = nil, timeout: Duration) async throws {
        let header = try FrameEncoder.encode(message, payloadBytes: payload?.count ?? 0)
        try await write(header: header, payload: payload, deadline: .now + timeout)
    }

    public func send<M: Message>(_ message: M, payload: [UInt8], timeout: Duration) async throws {
        // The array is copied into the frame-writing path only by reference; withUnsafeBytes
        // cannot span a suspension, so it is held as an array until written.
        let header = try FrameEncoder.encode(message, payloadBytes: payload.count)
        try await write(header: header, payloadArray: payload, deadline: .now + timeout)
    }

    /// Sends a message whose payload is `count` bytes of the file `file` from `offset`,
    /// copied by the kernel from its page cache to the socket (sendfile(2)): the bytes never
    /// pass through this process. Throws `ioError` when the file ends early; the frame is
    /// then cut off and the connection closed.
    public func send<M: Message>(_ message: M, file: Int32, offset: Int, count: Int, timeout: Duration) async throws {
        let header = try FrameEncoder.encode(message, payloadBytes: count)
        let deadline = ContinuousClock.now + timeout
        await takeTurn(reading: false)
        defer { endTurn(reading: false) }
        var sent = 0
        let total = header.count + count
        do {
            while sent < total {
                try checkOpen()
                let progress: Int
                if sent < header.count {
                    progress = try header.withUnsafeBytes { headerBytes in
                        try writeSome(header: headerBytes, payload: UnsafeRawBufferPointer(start: nil, count: 0), offset: sent, more: count > 0)
                    }
                } else {
                    progress = try sendSome(file: file, offset: offset + sent - header.count, count: total - sent)
                }
                sent += progress
                if sent < total && progress == 0 { try await waitUntilWritable(deadline: deadline) }
            }
        } catch {
            abandonPartialFrame(sent: sent)
            throw error
        }
    }

    /// sendfile(2) has no MSG_NOSIGNAL: a peer gone away would raise SIGPIPE, whose default
    /// action ends the process. Ignored once, unless the program already chose a handler.
    private static let sigpipeIgnored: Void = {
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }()

    /// One sendfile(2) of up to `count` bytes; 0 when the socket's buffer is full.
    private func sendSome(file: Int32, offset: Int, count: Int) throws -> Int {
        Self.sigpipeIgnored
        while true {
            var position = off_t(offset)
            let result = sendfile(fd, file, &position, count)
            if result > 0 { return result }
            if result == 0 {
                throw DFSError(.ioError, "file ended \(count) bytes early while being sent to \(name)")
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case let code:
                throw DFSError(.connectionFailed, "connection to \(name) lost: \(Socket.describe(code))")
            }
        }
    }

    /// Sends bytes as they are, frame or not: for tools and tests that speak to a server
    /// the way a broken or hostile peer would.
    public func sendRaw(_ bytes: [UInt8], timeout: Duration) async throws {
        try await write(header: bytes, payload: nil, deadline: .now + timeout)
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

    private func write(header: [UInt8], payloadArray: [UInt8], deadline: ContinuousClock.Instant) async throws {
        await takeTurn(reading: false)
        defer { endTurn(reading: false) }
        var offset = 0
        let total = header.count + payloadArray.count
        do {
            while offset < total {
                try checkOpen()
                let sent = try header.withUnsafeBytes { headerBytes in
                    try payloadArray.withUnsafeBytes { payloadBytes in
                        try writeSome(header: headerBytes, payload: payloadBytes, offset: offset)
                    }
                }
                offset += sent
                if offset < total { try await waitUntilWritable(deadline: deadline) }
            }
        } catch {
            abandonPartialFrame(sent: offset)
            throw error
        }
    }

    private func write(header: [UInt8], payload: UnsafeRawBufferPointer?, deadline: ContinuousClock.Instant) async throws {
        await takeTurn(reading: false)
        defer { endTurn(reading: false) }
        var offset = 0
        let payloadBytes = payload ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let total = header.count + payloadBytes.count
        do {
            while offset < total {
                try checkOpen()
                let sent = try header.withUnsafeBytes { try writeSome(header: $0, payload: payloadBytes, offset: offset) }
                offset += sent
                if offset < total { try await waitUntilWritable(deadline: deadline) }
            }
        } catch {
            abandonPartialFrame(sent: offset)
            throw error
        }
    }

    /// A frame cut off midway leaves the stream out of step: nothing sent after it could be
    /// parsed, so the connection is closed.
    private func abandonPartialFrame(sent: Int) {
        if sent > 0 { close() }
    }

    /// One sendmsg(2) of what is left of header and payload after `offset` bytes, with
    /// MSG_NOSIGNAL: a peer that has gone away is an error here, never a SIGPIPE that would
    /// kill whichever process (a test runner, an embedding program) did not ignore it.
    private func writeSome(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, offset: Int, more: Bool = false) throws -> Int {
        var vectors: [iovec] = []
        if offset < header.count {
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress! + offset), iov_len: header.count - offset))
        }
        let payloadOffset = max(0, offset - header.count)
        if payload.count > payloadOffset {
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress! + payloadOffset), iov_len: payload.count - payloadOffset))
        }
        while true {
            let result = vectors.withUnsafeMutableBufferPointer { buffer -> Int in
                var message = msghdr()
                message.msg_iov = buffer.baseAddress
                message.msg_iovlen = buffer.count
                return sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0))
            }
            if result >= 0 { return result }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case let code:
                throw DFSError(.connectionFailed, "connection to \(name) lost: \(Socket.describe(code))")
            }
        }
    }

    /// Waits until the socket can take more bytes, or has failed (the next write then says how).
    ///
    /// A socket that fails (refused, reset by the peer) may raise only an error condition.
    /// The write watcher reports it, but the wait is still cut into short slices, with a
    /// poll(2) between them, so a missed event costs at most a slice.
    private func waitUntilWritable(deadline: ContinuousClock.Instant) async throws {
        while true {
            // Closed meanwhile (the actor is re-entered between slices): the fd may already be
            // someone else's, so neither poll it nor give it a source.
            try checkOpen()
            var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&request, 1, 0) > 0 { return }
            try Task.checkCancellation()
            if ContinuousClock.now >= deadline {
                throw DFSError(.timeout, "\(name) did not take data in time")
            }
            do {
                try await waitForWriteEvent(deadline: min(deadline, .now + .milliseconds(50)))
                return
            } catch let error as DFSError where error.code == .timeout && !Task.isCancelled {
                continue
            }
        }
    }

    private func waitForWriteEvent(deadline: ContinuousClock.Instant) async throws {
        if writeReady {
            writeReady = false
            return
        }
        // The watcher is made before the wait, where failing to make it can be thrown.
        let newWatcher = writeSource == nil ? try Self.watch(fd, forOutput: true, name: name) : nil
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                writeWaiter = continuation
                if !writeArmed {
                    writeArmed = true
                    if let writeSource {
                        writeSource.resume()
                    } else if let newWatcher {
                        writeSource = makeArmedWriteSource(watcher: newWatcher)
                    }
                }
                scheduleTimeout(deadline: deadline, reading: false)
            }
        } onCancel: {
            executor.queue.async { [self] in
                self.assumeIsolated { $0.failWaiter(reading: false, DFSError(.timeout, "operation on \(name) was cancelled")) }
            }
        }
    }

    private func writable() {
        if writeArmed, let writeSource {
            writeArmed = false
            writeSource.suspend()
        }
        if let waiter = writeWaiter {
            writeWaiter = nil
            waiter.resume()
        } else {
            writeReady = true
        }
    }

    /// Waits until a non-blocking connect(2) finishes, then reports its outcome.
    func finishConnect(deadline: ContinuousClock.Instant) async throws {
        do {
            try await waitUntilWritable(deadline: deadline)
        } catch let error as DFSError where error.code == .timeout {
            throw DFSError(.timeout, "connecting to \(name) timed out")
        }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        if code != 0 {
            throw DFSError(.connectionFailed, "cannot connect to \(name): \(Socket.describe(code))")
        }
    }

    // MARK: Timeouts, closing

    private func scheduleTimeout(deadline: ContinuousClock.Instant, reading: Bool) {
        let generation: UInt64
        if reading {
            readGeneration &+= 1
            generation = readGeneration
        } else {
            writeGeneration &+= 1
            generation = writeGeneration
        }
        let remaining = ContinuousClock.now.duration(to: deadline)
        let nanoseconds = max(0, remaining.components.seconds) * 1_000_000_000 + max(0, remaining.components.attoseconds / 1_000_000_000)
        executor.queue.asyncAfter(deadline: .now() + .nanoseconds(Int(min(nanoseconds, Int64(Int32.max) * 1000)))) { [self] in
            self.assumeIsolated { connection in
                guard (reading ? connection.readGeneration : connection.writeGeneration) == generation else { return }
                let error = DFSError(.timeout, "\(connection.name) did not respond in time")
                if reading, let waiter = connection.readWaiter {
                    connection.readWaiter = nil
                    waiter.resume(throwing: error)
                } else if !reading, let waiter = connection.writeWaiter {
                    connection.writeWaiter = nil
                    waiter.resume(throwing: error)
                }
            }
        }
    }

    private func failWaiter(reading: Bool, _ error: DFSError) {
        if reading, let waiter = readWaiter {
            readWaiter = nil
            waiter.resume(throwing: error)
        } else if !reading, let waiter = writeWaiter {
            writeWaiter = nil
            waiter.resume(throwing: error)
        }
    }

    private func takeTurn(reading: Bool) async {
        if reading ? readTurn.take() : writeTurn.take() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if reading {
                readTurn.waiting.append(continuation)
            } else {
                writeTurn.waiting.append(continuation)
            }
        }
    }

    private func endTurn(reading: Bool) {
        if reading {
            readTurn.pass()
        } else {
            writeTurn.pass()
        }
    }

    private func failWaiters(_ error: DFSError) {
        if let waiter = readWaiter {
            readWaiter = nil
            waiter.resume(throwing: error)
        }
        if let waiter = writeWaiter {
            writeWaiter = nil
            waiter.resume(throwing: error)
        }
    }

    private func checkOpen() throws {
        if isClosed { throw DFSError(.connectionFailed, "connection to \(name) is closed") }
    }

    /// Closes the socket. Waiting readers and writers get an error. Safe to call twice.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        failWaiters(DFSError(.connectionFailed, "connection to \(name) closed"))
        // A suspended source must be resumed before it is cancelled, or releasing it traps.
        if !readArmed {
            readArmed = true
            readSource.resume()
        }
        readSource.cancel()
        if let writeSource {
            if !writeArmed {
                writeArmed = true
                writeSource.resume()
            }
            writeSource.cancel()
        }
    }

    /// True when the peer has closed its side or sent bytes nobody asked for: a pooled
    /// connection in that state must not be reused.
    public func isStale() -> Bool {
        if isClosed || sawEndOfStream || decoder.bufferedBytes > 0 { return true }
        var byte: UInt8 = 0
        let result = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if result < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return false }
        return true
    }

    /// The descriptors Dispatch watches for this connection: the watchers, never the socket.
    func watchedDescriptors() -> [Int32] {
        [Int32(readSource.handle)] + (writeSource.map { [Int32($0.handle)] } ?? [])
    }

    /// A source is gone: its watcher is closed, and the socket with the last one.
    private func sourceCancelled(watcher: Int32) {
        Glibc.close(watcher)
        sourcesOpen -= 1
        if sourcesOpen == 0 { Glibc.close(fd) }
    }

}

/// Memory a connection reads into; freed with the connection.
final class ScratchBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(byteCount: Int) { bytes = .allocate(byteCount: byteCount, alignment: 16) }
    deinit { bytes.deallocate() }
}

/// Who may read (or write) a connection: one task at a time, the others in arrival order.
struct Turn {
    var busy = false
    var waiting: [CheckedContinuation<Void, Never>] = []

    /// Takes the turn if it is free.
    mutating func take() -> Bool {
        if busy { return false }
        busy = true
        return true
    }

    /// Hands the turn to the next waiter, or frees it.
    mutating func pass() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}
