import DFSCore
import DFSSystem
import Dispatch

/// One TCP connection, transport only: a non-blocking socket whose Dispatch read and write
/// sources fire on the same serial queue the actor runs on. It moves frames; what they mean,
/// and the bookkeeping of a server's requests, belong to its callers (`FrameServer`).
///
/// Frames are read and written inside actor methods that suspend only when the socket would
/// block. The read source is armed only while a reader waits, so a slow reader leaves the
/// bytes in the kernel, whose full buffer closes the TCP window: the sender is stopped, no
/// buffer grows. A writer waits the same way for room in the kernel's send buffer. Each
/// direction keeps its state in one ``Side``; reading is in `Connection+Read.swift` (one read
/// path), writing in `Connection+Write.swift` (one write loop).
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

    let fd: Int32
    /// The far side, for logs and error messages.
    public nonisolated let peer: Endpoint
    /// Text used to name the far side in errors: the endpoint the caller dialled, or the peer.
    public nonisolated let name: String

    var decoder = FrameDecoder()
    /// Bytes are read here, then appended to the decoder: one copy of what arrived, instead
    /// of growing the decoder's buffer by a whole read size on every call.
    /// Made on first use, and small while the frame limits are a handshake's: a peer that
    /// never gets past its handshake costs a few KiB.
    var scratch: ScratchBuffer {
        if decoder.payloadBytesMax == 0 {
            if let small = smallScratch { return small }
            let small = ScratchBuffer(byteCount: Self.handshakeReadBytes)
            smallScratch = small
            return small
        }
        if let large = largeScratch { return large }
        let large = ScratchBuffer(byteCount: Limits.socketReadBytes)
        largeScratch = large
        smallScratch = nil
        return large
    }
    private var smallScratch: ScratchBuffer?
    private var largeScratch: ScratchBuffer?
    /// The reading direction: its source is made with the connection, disarmed.
    private var input: Side
    /// The writing direction. Its source is made on the first write that finds the kernel's
    /// buffer full: most connections never need one, and fewer sources mean less work for
    /// Dispatch's event loop. It is a read source on the write watcher, which is readable
    /// when the socket has room.
    private var output = Side()
    var sawEndOfStream = false
    /// The TLS session, once ``startTLS(_:asServer:deadline:)`` has run: every read and
    /// write then goes through it.
    var tls: TLSSession?
    private var sourcesOpen = 1
    public private(set) var isClosed = false
    /// Told once, when the server side of the handshake is done (see ``handshakeFinished()``).
    private nonisolated let handshakeHook = Mutex<(@Sendable () -> Void)?>(nil)

    /// Takes ownership of a connected, non-blocking socket. Throws (and leaves the socket to
    /// the caller) when no descriptor is left for the read watcher. The connection runs on
    /// `executor` when one is given (a server may put its connections on the executor of the
    /// actor that answers them, so a request and its answer stay on one thread), else on a
    /// queue of its own.
    init(fd: Int32, peer: Endpoint, name: String? = nil, executor: QueueExecutor? = nil) throws {
        let name = name ?? peer.description
        let watcher = try Self.watch(fd, .input, name: name)
        self.fd = fd
        self.peer = peer
        self.name = name
        self.executor = executor ?? QueueExecutor(label: "dfs.connection")
        let read = DispatchSource.makeReadSource(fileDescriptor: watcher, queue: self.executor.queue)
        input = Side(source: read)
        handle(read, direction: .input, watcher: watcher)
        // The read source starts disarmed: activated, then suspended until a reader waits.
        read.activate()
        read.suspend()
    }

    /// The state of one direction, for the code that serves both the same way.
    private subscript(_ direction: Direction) -> Side {
        get { direction == .input ? input : output }
        _modify {
            switch direction {
            case .input: yield &input
            case .output: yield &output
            }
        }
    }

    /// A new epoll descriptor that watches `fd` in one direction, for one Dispatch source.
    private static func watch(_ fd: Int32, _ direction: Direction, name: String) throws -> Int32 {
        do {
            return try SocketCalls.watcher(of: fd, output: direction == .output, peer: name)
        } catch {
            throw DFSError(.connectionFailed, "cannot watch the connection to \(name): \(error.reason)")
        }
    }

    /// Points a new source's handlers at this connection. They capture it strongly; the
    /// cycle is broken in the cancel handler.
    private nonisolated func handle(_ source: any DispatchSourceRead, direction: Direction, watcher: Int32) {
        source.setEventHandler { [self] in self.assumeIsolated { $0.sourceFired(direction) } }
        source.setCancelHandler { [self] in self.assumeIsolated { $0.sourceCancelled(watcher: watcher) } }
    }

    // MARK: Waiting

    /// Waits until the direction's source fires, `deadline` passes (a timeout) or the task is
    /// cancelled.
    func waitForEvent(_ direction: Direction, deadline: ContinuousClock.Instant) async throws {
        if self[direction].ready {
            self[direction].ready = false
            return
        }
        // The writer's watcher is made before the wait, where failing to make it can be thrown.
        let newWatcher = self[direction].source == nil ? try Self.watch(fd, direction, name: name) : nil
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                self[direction].waiter = continuation
                if !self[direction].armed {
                    self[direction].armed = true
                    if let source = self[direction].source {
                        source.resume()
                    } else if let newWatcher {
                        // Made armed: activated, not suspended.
                        let source = DispatchSource.makeReadSource(fileDescriptor: newWatcher, queue: executor.queue)
                        handle(source, direction: direction, watcher: newWatcher)
                        self[direction].source = source
                        sourcesOpen += 1
                        source.activate()
                    }
                }
                scheduleTimeout(direction, deadline: deadline)
            }
        } onCancel: {
            executor.queue.async { [self] in
                self.assumeIsolated { $0.failWaiter(direction, DFSError(.timeout, "operation on \(name) was cancelled")) }
            }
        }
    }

    private func sourceFired(_ direction: Direction) {
        if let waiter = self[direction].waiter {
            // Left armed: the waiter reads until the socket would block, and a request's
            // reply is then waited for without arming the source again.
            self[direction].waiter = nil
            WaitDeadlines.shared.clear(deadlineKey(direction))
            waiter.resume()
            return
        }
        self[direction].ready = true
        // Nobody waits: disarmed, so bytes nobody asked for stay in the kernel.
        if self[direction].armed, let source = self[direction].source {
            self[direction].armed = false
            source.suspend()
        }
    }

    /// Waits until the socket can take more bytes, or has failed (the next write then says how).
    ///
    /// A socket that fails (refused, reset by the peer) may raise only an error condition.
    /// The write watcher reports it, but the wait is still cut into short slices, with a
    /// poll(2) between them, so a missed event costs at most a slice.
    func waitUntilWritable(deadline: ContinuousClock.Instant) async throws {
        while true {
            // Closed meanwhile (the actor is re-entered between slices): the fd may already be
            // someone else's, so neither poll it nor give it a source.
            try checkOpen()
            if SocketCalls.canSendOrFailed(fd) { return }
            try Task.checkCancellation()
            if ContinuousClock.now >= deadline {
                throw DFSError(.timeout, "\(name) did not take data in time")
            }
            do {
                try await waitForEvent(.output, deadline: min(deadline, .now + .milliseconds(50)))
                return
            } catch let error as DFSError where error.code == .timeout && !Task.isCancelled {
                continue
            }
        }
    }

    /// Waits until a non-blocking connect(2) finishes, then reports its outcome.
    func finishConnect(deadline: ContinuousClock.Instant) async throws {
        do {
            try await waitUntilWritable(deadline: deadline)
        } catch let error as DFSError where error.code == .timeout {
            throw DFSError(.timeout, "connecting to \(name) timed out")
        }
        if let code = SocketCalls.connectError(fd) {
            throw DFSError(.connectionFailed, "cannot connect to \(name): \(SystemError("connect to", name, errno: code).reason)")
        }
    }

    // MARK: Timeouts, turns, closing

    /// Sets the deadline of the wait that starts now (see ``WaitDeadlines``): when it passes
    /// first, the waiter gets a timeout.
    private func scheduleTimeout(_ direction: Direction, deadline: ContinuousClock.Instant) {
        self[direction].generation &+= 1
        let queue = executor.queue
        let entry = WaitDeadlines.Entry(deadline: deadline, generation: self[direction].generation) { [self] generation in
            queue.async {
                self.assumeIsolated { connection in
                    guard connection[direction].generation == generation else { return }
                    connection.failWaiter(direction, DFSError(.timeout, "\(connection.name) did not respond in time"))
                }
            }
        }
        WaitDeadlines.shared.set(deadlineKey(direction), entry)
    }

    private func deadlineKey(_ direction: Direction) -> WaitDeadlines.Key {
        WaitDeadlines.Key(owner: ObjectIdentifier(self), output: direction == .output)
    }

    private func failWaiter(_ direction: Direction, _ error: DFSError) {
        if let waiter = self[direction].waiter {
            self[direction].waiter = nil
            WaitDeadlines.shared.clear(deadlineKey(direction))
            waiter.resume(throwing: error)
        }
    }

    /// Waits for this direction's turn: one reader and one writer at a time, others in order.
    func takeTurn(_ direction: Direction) async {
        if self[direction].turn.take() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self[direction].turn.waiting.append(continuation)
        }
    }

    func endTurn(_ direction: Direction) {
        self[direction].turn.pass()
    }

    func checkOpen() throws {
        if isClosed { throw DFSError(.connectionFailed, "connection to \(name) is closed") }
    }

    /// Closes the socket. Waiting readers and writers get an error. Safe to call twice.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if let tls {
            tls.shutdown()
            self.tls = nil
        }
        let error = DFSError(.connectionFailed, "connection to \(name) closed")
        failWaiter(.input, error)
        failWaiter(.output, error)
        cancelSource(.input)
        cancelSource(.output)
    }

    private func cancelSource(_ direction: Direction) {
        guard let source = self[direction].source else { return }
        // A suspended source must be resumed before it is cancelled, or releasing it traps.
        if !self[direction].armed {
            self[direction].armed = true
            source.resume()
        }
        source.cancel()
    }

    /// Sets what ``handshakeFinished()`` tells: a listener counts connections still in their
    /// handshake apart from the others.
    nonisolated func onHandshakeFinished(_ hook: @escaping @Sendable () -> Void) {
        handshakeHook.withLock { $0 = hook }
    }

    /// The peer has said hello (and proved the secret): called once by the server's loop.
    public nonisolated func handshakeFinished() {
        let hook = handshakeHook.withLock { hook -> (@Sendable () -> Void)? in
            defer { hook = nil }
            return hook
        }
        hook?()
    }

    /// Limits of the frames read from now on: tiny until a peer is known, the protocol's after.
    public func limitFrames(headerBytesMax: Int, payloadBytesMax: Int) {
        decoder.headerBytesMax = headerBytesMax
        decoder.payloadBytesMax = payloadBytesMax
    }

    /// True when the peer has closed its side or sent bytes nobody asked for: a pooled
    /// connection in that state must not be reused.
    public func isStale() -> Bool {
        if isClosed || sawEndOfStream || decoder.bufferedBytes > 0 || tls?.hasPending == true { return true }
        return SocketCalls.hasInputOrClosed(fd)
    }

    /// The descriptors Dispatch watches for this connection: the watchers, never the socket.
    func watchedDescriptors() -> [Int32] {
        [input.source, output.source].compactMap { $0.map { Int32($0.handle) } }
    }

    /// A source is gone: its watcher is closed, and the socket with the last one.
    private func sourceCancelled(watcher: Int32) {
        SocketCalls.close(watcher)
        sourcesOpen -= 1
        if sourcesOpen == 0 { SocketCalls.close(fd) }
    }
}
