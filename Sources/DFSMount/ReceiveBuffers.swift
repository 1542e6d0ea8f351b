import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

/// libfuse's receive buffers, which a large write keeps instead of copying its bytes out.
///
/// Each reader thread receives a request into a buffer of libfuse's (`malloc`ed at the
/// session's buffer size, about 1 MiB); libfuse reuses it for the next request as soon as
/// the callback returns, so a write's bytes used to be copied into an array. A write of at
/// least ``takenBytesMin`` instead takes the buffer itself (``take(_:count:)``): the reader
/// is told to receive its next request into another one, an idle buffer from here or a new
/// one libfuse allocates. A taken buffer comes back here once its write is staged, and up to
/// ``idleMax`` are kept for the readers, so that the same memory goes round instead of fresh
/// pages (which cost a fault and a clearing each, more than the copy saved).
///
/// Memory: taken buffers are held by queued writes, which FuseContext's room for write data
/// bounds (a taken buffer is at most 4/3 of the write it holds, as writes smaller than
/// ``takenBytesMin`` are copied); idle ones are at most ``idleMax`` buffers.
final class ReceiveBuffers: Sendable {
    /// Idle buffers kept for the readers: as many as the writes that fit FuseContext's
    /// room for write data, so a writer at full speed reuses them all.
    static let idleMax = 16
    /// Writes smaller than this (3/4 of a buffer) are copied: a small write must not hold a
    /// whole buffer.
    static let takenBytesMin = 768 * 1024

    private struct State {
        /// Addresses (as integers: plain pointers are not Sendable) of idle buffers.
        var idle: [UInt] = []
        /// What each reader is processing: its buffer's address and size, and whether a
        /// write took it.
        var processing: [Int: (start: UInt, bytes: Int, taken: Bool)] = [:]
    }
    private let state = Mutex(State())

    deinit {
        state.withLock { state in
            for address in state.idle { free(UnsafeMutableRawPointer(bitPattern: address)) }
            state.idle = []
        }
    }

    /// An idle buffer for a reader whose buffer was taken, or nil (libfuse then allocates one).
    func idleBuffer() -> UnsafeMutableRawPointer? {
        state.withLock { $0.idle.popLast() }.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Reader `reader` processes the request in `buffer` (`bytes` long, as libfuse allocated it).
    func startProcessing(reader: Int, _ buffer: UnsafeMutableRawPointer, bytes: Int) {
        state.withLock { $0.processing[reader] = (UInt(bitPattern: buffer), bytes, false) }
    }

    /// Ends reader `reader`'s request; true when a write took its buffer, which the reader
    /// must then forget.
    func endProcessing(reader: Int) -> Bool {
        state.withLock { $0.processing.removeValue(forKey: reader)?.taken ?? false }
    }

    /// The `count` write bytes at `bytes`, which lie in a reader's buffer: that buffer, taken
    /// from the reader, when the write is large enough; else nil (copy them).
    func take(_ bytes: UnsafeRawPointer, count: Int) -> WriteData? {
        guard count >= Self.takenBytesMin else { return nil }
        let address = UInt(bitPattern: bytes)
        let start = state.withLock { state -> UInt? in
            guard
                let (reader, slot) = state.processing.first(where: { _, slot in
                    !slot.taken && address >= slot.start && address + UInt(count) <= slot.start + UInt(slot.bytes)
                })
            else { return nil }
            state.processing[reader]?.taken = true
            return slot.start
        }
        guard let start, let buffer = UnsafeMutableRawPointer(bitPattern: start) else { return nil }
        return WriteData(taking: buffer, bytes: UnsafeRawBufferPointer(start: bytes, count: count), from: self)
    }

    /// A taken buffer whose write is staged: kept for the readers, or freed.
    func giveBack(_ buffer: UnsafeMutableRawPointer) {
        let kept = state.withLock { state -> Bool in
            guard state.idle.count < Self.idleMax else { return false }
            state.idle.append(UInt(bitPattern: buffer))
            return true
        }
        if !kept { free(buffer) }
    }
}

/// The bytes of one FUSE write, held from its answer until staged: a receive buffer taken
/// from libfuse (see ``ReceiveBuffers``) or a copy.
final class WriteData: @unchecked Sendable {
    private enum Storage {
        case copied([UInt8])
        case taken(buffer: UnsafeMutableRawPointer, bytes: UnsafeRawBufferPointer, owner: ReceiveBuffers)
    }
    private let storage: Storage

    /// A copy of `bytes`.
    init(copying bytes: UnsafeRawBufferPointer) {
        storage = .copied([UInt8](bytes))
    }

    init(_ bytes: [UInt8]) {
        storage = .copied(bytes)
    }

    /// `bytes`, which lie in `buffer`, given back to `owner` when this goes.
    fileprivate init(taking buffer: UnsafeMutableRawPointer, bytes: UnsafeRawBufferPointer, from owner: ReceiveBuffers) {
        storage = .taken(buffer: buffer, bytes: bytes, owner: owner)
    }

    var count: Int {
        switch storage {
        case .copied(let bytes): bytes.count
        case .taken(_, let bytes, _): bytes.count
        }
    }

    /// Calls `body` with the bytes, valid only during the call.
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        switch storage {
        case .copied(let bytes): try bytes.withUnsafeBytes(body)
        case .taken(_, let bytes, _): try body(bytes)
        }
    }

    deinit {
        if case .taken(let buffer, _, let owner) = storage { owner.giveBack(buffer) }
    }
}
