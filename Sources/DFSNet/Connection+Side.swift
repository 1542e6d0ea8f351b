import Dispatch

extension Connection {
    /// The two directions of a connection, each with its own ``Side``.
    enum Direction {
        case input
        case output
    }

    /// One direction's state: the source that wakes it, the task waiting on it, and whose
    /// turn it is. Reading and writing keep one each and are served by the same code.
    struct Side {
        /// A read source on this direction's watcher; nil until the direction first waits.
        var source: (any DispatchSourceRead)?
        /// The source is resumed. It is suspended while nobody waits.
        var armed = false
        /// The source fired while nobody waited. Linux's sources behave as edge-triggered:
        /// the event will not come again, so the next waiter must not wait for it and tries
        /// the call instead.
        var ready = false
        var waiter: CheckedContinuation<Void, any Error>?
        /// Distinguishes one wait from the next, so a late timer cannot end a newer wait,
        /// and a writer's waits never disarm a reader's deadline (nor the reverse).
        var generation: UInt64 = 0
        /// One task at a time works this direction; others queue in order instead of
        /// interleaving their frames.
        var turn = Turn()
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
}

/// Memory a connection reads into; freed with the connection.
final class ScratchBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(byteCount: Int) { bytes = .allocate(byteCount: byteCount, alignment: 16) }
    deinit { bytes.deallocate() }
}
