import DFSCore
import Dispatch

/// The deadlines of the connections' waits, watched by one timer for the whole process.
///
/// A wait for a socket (a reply, room to write, the next request) must end by its deadline.
/// A Dispatch timer per wait costs a timer in Dispatch's event loop and a wake-up of its
/// manager thread for every request, and stays behind until its deadline even when the wait
/// ended at once, as almost every wait does. Here a wait's deadline is one entry in a table,
/// set when the wait starts and cleared when it ends; one timer ticks every ``tick`` while the
/// table holds anything and hands each expired entry's `expire` the wait it was set for.
/// A deadline is therefore kept up to one tick late, never early.
final class WaitDeadlines: @unchecked Sendable {
    static let shared = WaitDeadlines(tick: tick)

    /// How often the table is checked: small against every timeout dfs sets (the shortest,
    /// a data node's stall time, is seconds), large enough that a busy process wakes for it
    /// only 50 times a second.
    static let tick = Duration.milliseconds(20)

    struct Key: Hashable {
        let owner: ObjectIdentifier
        let output: Bool
    }

    struct Entry {
        let deadline: ContinuousClock.Instant
        /// Which wait of its owner this is: the owner ignores an expiry for an older one.
        let generation: UInt64
        let expire: @Sendable (UInt64) -> Void
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var ticking = false
    }

    private let state = Mutex(State())
    /// Resumed and suspended only under `state`'s lock, as `ticking` says.
    private let timer: any DispatchSourceTimer

    init(tick: Duration) {
        let queue = DispatchQueue(label: "dfs.wait-deadlines")
        timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.nanoseconds(Int(tick.inNanoseconds))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .nanoseconds(Int(tick.inNanoseconds / 4)))
        timer.setEventHandler { [weak self] in self?.check(now: .now) }
        // Activated and at once suspended: it ticks only while some wait has a deadline.
        timer.activate()
        timer.suspend()
    }

    deinit {
        // Dispatch traps on releasing a suspended source: resumed first, then cancelled.
        state.withLock { state in
            if !state.ticking { timer.resume() }
        }
        timer.cancel()
    }

    /// Sets the deadline of `key`'s wait, replacing the one before.
    func set(_ key: Key, _ entry: Entry) {
        state.withLock { state in
            state.entries[key] = entry
            if !state.ticking {
                state.ticking = true
                timer.resume()
            }
        }
    }

    /// The wait of `key` ended: its deadline no longer matters.
    func clear(_ key: Key) {
        _ = state.withLock { $0.entries.removeValue(forKey: key) }
    }

    /// Hands every deadline passed by `now` to its `expire`, outside the lock; stops ticking
    /// when nothing is left to watch.
    func check(now: ContinuousClock.Instant) {
        let expired = state.withLock { state -> [Entry] in
            let passed = state.entries.filter { $0.value.deadline <= now }
            for key in passed.keys { state.entries[key] = nil }
            if state.entries.isEmpty && state.ticking {
                state.ticking = false
                timer.suspend()
            }
            return Array(passed.values)
        }
        for entry in expired { entry.expire(entry.generation) }
    }

    /// How many waits have a deadline now (for tests).
    var count: Int { state.withLock { $0.entries.count } }
}
