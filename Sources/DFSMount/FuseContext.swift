import CFuse
import DFSCore
import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// What every FUSE callback reaches through the session's user data: the service, and the
/// bound on requests in flight.
///
/// A callback runs on one of the session's reader threads. It copies what it needs out of
/// libfuse's buffers (names, write data: libfuse reuses them as soon as the callback
/// returns), takes a turn, and hands the request to a task; the reader goes back to the
/// kernel at once. When every turn is taken, the reader waits for one (it is a thread of its
/// own, never one of the cooperative pool's), so requests queue in the kernel, not in memory.
/// Write data has a bound of its own (``writeBytesInFlightMax``): 256 writes of 1 MiB would
/// otherwise hold 256 MiB of copies. Writes take no turn: they are queued on their file and
/// answered at once (see ``WriteHandle/WriteQueue``), holding their room until staged.
final class FuseContext: Sendable {
    let service: MountService
    /// libfuse's session while it is up, for notices to the kernel; set by ``FuseSession``.
    let session = Mutex<KernelSession?>(nil)
    /// libfuse's receive buffers that large writes keep instead of copying.
    let receiveBuffers = ReceiveBuffers()
    private let turns: DispatchSemaphore
    private let writeUnits = DispatchSemaphore(value: FuseContext.writeBytesInFlightMax / FuseContext.writeUnitBytes)
    private let inFlight = Mutex(0)

    /// Bytes of write data copied out of libfuse and not yet staged, at most. A reader waits
    /// for room before copying. Each of the four reader threads takes at most a write's worth
    /// of units at a time (1 MiB, the largest write the kernel sends, is 8 units), far below
    /// the 128 there are, so readers waiting for units one by one cannot starve each other.
    /// Writes answered before they are staged fill it whenever the staging falls behind: at
    /// 64 MiB, `dd bs=1M` of 512 MiB took the mount's peak memory to 113-115 MiB; at 16 MiB
    /// (16 such writes ahead of the staging) to 61-65 MiB, and the `dd` was as fast (1.00-1.14 s
    /// against 1.04-1.29 s, same moments). A write that keeps libfuse's receive buffer
    /// (``ReceiveBuffers``) holds at most 4/3 of its bytes, so at most 21 MiB are held.
    static let writeBytesInFlightMax = 16 * 1024 * 1024
    static let writeUnitBytes = 128 * 1024

    init(service: MountService, requestsInFlightMax: Int) {
        self.service = service
        self.turns = DispatchSemaphore(value: requestsInFlightMax)
    }

    /// Takes room for `count` bytes of write data, waiting for it; give it back with
    /// ``releaseWriteRoom(_:)`` once they are staged.
    func takeWriteRoom(_ count: Int) -> Int {
        let units = max(1, (count + Self.writeUnitBytes - 1) / Self.writeUnitBytes)
        for _ in 0..<units { writeUnits.wait() }
        return units
    }

    func releaseWriteRoom(_ units: Int) {
        for _ in 0..<units { writeUnits.signal() }
    }

    /// Tells the kernel that what it holds of `inode`'s attributes (its size above all) is
    /// out of date: the next stat, or read past the size it held, asks again. Pages are left:
    /// an open without `FOPEN_KEEP_CACHE` drops them anyway.
    func attributesChanged(_ inode: UInt64) {
        session.withLock { session in
            guard let session else { return }
            _ = fuse_lowlevel_notify_inval_inode(session.pointer, fuse_ino_t(inode), -1, 0)
        }
    }

    /// The context of the session a request came from.
    static func of(_ request: fuse_req_t) -> FuseContext {
        Unmanaged<FuseContext>.fromOpaque(fuse_req_userdata(request)!).takeUnretainedValue()
    }

    /// Serves `request` in a task; a thrown error becomes the reply's errno. `body` replies
    /// itself on success, as its last step.
    func serve(_ request: FuseRequest, _ what: StaticString, _ body: @escaping @Sendable (MountService) async throws -> Void) {
        turns.wait()
        inFlight.withLock { $0 += 1 }
        let service = self.service
        Task {
            defer {
                inFlight.withLock { $0 -= 1 }
                turns.signal()
            }
            do {
                try await body(service)
            } catch {
                let errno = MountErrno.of(error)
                if errno == ENOENT || errno == EEXIST || errno == ENOTEMPTY {
                    Log.debug("mount", "\(what): \(error)")
                } else {
                    Log.warn("mount", "\(what) failed: \(DFSError.wrap(error).message)")
                }
                request.fail(errno)
            }
        }
    }

    /// Requests still being served.
    var requestsInFlight: Int { inFlight.withLock { $0 } }
}

/// libfuse's session pointer, for the threads that read requests and for notices
/// (libfuse's receive, process and notify calls are made for several threads at once).
struct KernelSession: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
