import CFuse
import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One FUSE mount: the libfuse session, the threads that read requests from the kernel, and
/// the way out.
///
/// A small fixed set of threads each loops on `fuse_session_receive_buf` and
/// `fuse_session_process_buf` with a buffer of its own; the callbacks hand every request to
/// a task (see ``FuseContext``), so a thread is back reading in microseconds and no thread
/// ever waits on the network. The threads end when the kernel ends the connection (ENODEV):
/// an unmount by `fusermount3 -u` or `umount`, or ``unmount()``.
final class FuseSession: @unchecked Sendable {
    let mountpoint: String
    let context: FuseContext
    /// libfuse's session; nil once destroyed.
    private var session: OpaquePointer?
    private let readersDone = DispatchGroup()
    private var readerCount = 0

    /// Creates the session and mounts it. `mountOptions` are FUSE's `-o` options
    /// (`fsname=...,subtype=dfs,ro,allow_other`).
    init(mountpoint: String, mountOptions: [String], context: FuseContext) throws {
        self.mountpoint = mountpoint
        self.context = context
        let arguments = ["dfs", "-o", mountOptions.joined(separator: ",")]
        var cArguments = arguments.map { strdup($0) }
        defer { cArguments.forEach { free($0) } }
        var operations = FuseOperations.table()
        let created = cArguments.withUnsafeMutableBufferPointer { pointers -> OpaquePointer? in
            var args = fuse_args(argc: Int32(pointers.count), argv: pointers.baseAddress, allocated: 0)
            let made = fuse_session_new(
                &args, &operations, MemoryLayout<fuse_lowlevel_ops>.size, Unmanaged.passUnretained(context).toOpaque())
            fuse_opt_free_args(&args)
            return made
        }
        guard let created else {
            throw DFSError(.invalidArgument, "libfuse refused the mount options \(mountOptions.joined(separator: ","))")
        }
        guard fuse_session_mount(created, mountpoint) == 0 else {
            fuse_session_destroy(created)
            throw DFSError(.ioError, "cannot mount on \(mountpoint) (is /dev/fuse there, and fuse3 installed?)")
        }
        session = created
        context.session.withLock { $0 = KernelSession(created) }
    }

    /// Starts `count` reader threads.
    func startReaders(_ count: Int) {
        guard let session else { return }
        let raw = KernelSession(session)
        for index in 0..<count {
            readersDone.enter()
            readerCount += 1
            let buffers = context.receiveBuffers
            let thread = Thread { [readersDone] in
                Self.readRequests(raw.pointer, reader: index, buffers: buffers)
                readersDone.leave()
            }
            thread.name = "dfs-fuse-\(index)"
            thread.start()
        }
    }

    /// One reader's loop: a request at a time, until the connection ends. A write may take
    /// the buffer its request came in (see ``ReceiveBuffers``); the reader then receives the
    /// next into an idle one, or into one libfuse allocates when none is idle.
    private static func readRequests(_ session: OpaquePointer, reader: Int, buffers: ReceiveBuffers) {
        var buffer = fuse_buf()
        defer { free(buffer.mem) }
        while fuse_session_exited(session) == 0 {
            if buffer.mem == nil { buffer.mem = buffers.idleBuffer() }
            let received = fuse_session_receive_buf(session, &buffer)
            if received == -EINTR { continue }
            if received <= 0 {
                // ENODEV (unmounted) makes libfuse end the session; any other error too.
                fuse_session_exit(session)
                break
            }
            // Only a request read into memory can be taken (libfuse splices none: the mount
            // has no write_buf operation).
            let inMemory = buffer.flags.rawValue & FUSE_BUF_IS_FD.rawValue == 0
            if inMemory, let memory = buffer.mem { buffers.startProcessing(reader: reader, memory, bytes: Int(received)) }
            fuse_session_process_buf(session, &buffer)
            if inMemory && buffers.endProcessing(reader: reader) { buffer.mem = nil }
        }
    }

    /// Waits until every reader has ended: the mount is gone.
    func waitUntilUnmounted() async {
        let group = readersDone
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
    }

    /// Asks the kernel to unmount: at once when nothing is busy, else lazily (the mount
    /// leaves the tree now and ends when its last user is gone). The readers end then.
    func unmount() {
        MountTable.unmount(mountpoint, lazily: false)
    }

    /// After the readers ended: waits (up to `grace`) for requests still being served, then
    /// frees the session. A session whose requests outlive the grace is left allocated, so a
    /// late reply never touches freed memory.
    func close(grace: Duration = .seconds(10)) async {
        guard let session else { return }
        let deadline = ContinuousClock.now + grace
        while context.requestsInFlight > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard context.requestsInFlight == 0 else {
            Log.warn("mount", "\(context.requestsInFlight) requests still running at unmount; leaving the session allocated")
            return
        }
        // The kernel side is gone; this closes libfuse's descriptor (and unmounts, if the
        // connection was somehow still up).
        context.session.withLock { $0 = nil }
        fuse_session_unmount(session)
        fuse_session_destroy(session)
        self.session = nil
    }
}
