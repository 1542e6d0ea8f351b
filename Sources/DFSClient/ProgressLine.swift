import DFSCore
import Foundation

/// The one line `dfs cp` keeps updating on a terminal: bytes done, total, rate, time left.
public struct ProgressLine: Sendable {
    public static func format(done: Int, total: Int, elapsed: Duration) -> String {
        let seconds = max(elapsed.inSeconds, 0.001)
        let rate = Double(done) / seconds
        var parts = ["\(ByteSize.format(done)) / \(ByteSize.format(total))"]
        if total > 0 { parts.append("\(min(100, done * 100 / total))%") }
        parts.append("\(ByteSize.format(Int(rate)))/s")
        if rate > 0, total > done {
            parts.append("\(clock(Double(total - done) / rate)) left")
        } else if total <= done {
            parts.append("done in \(clock(seconds))")
        }
        return parts.joined(separator: "  ")
    }

    /// `0:07`, `12:30`, `1:02:03`.
    public static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60)
        let twoDigits = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(twoDigits(minutes)):\(twoDigits(rest))" : "\(minutes):\(twoDigits(rest))"
    }
}

/// Draws a ``ProgressLine`` on standard error at most ten times a second, and only when
/// standard error is a terminal. Nothing is drawn for a copy that is over within half a second.
public final class ProgressReporter: Sendable {
    private struct State {
        var done = 0
        var total: Int
        var lastDrawn: ContinuousClock.Instant?
        var drewAnything = false
    }
    private let started = ContinuousClock.now
    private let state: Mutex<State>
    public let enabled: Bool

    public init(total: Int = 0, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.state = Mutex(State(total: total))
        self.enabled = enabled
    }

    /// Raises the total: a tree copy learns its size after it starts.
    public func expect(_ bytes: Int) {
        state.withLock { $0.total += bytes }
    }

    public func add(_ bytes: Int) {
        guard enabled else { return }
        let line: String? = state.withLock { state in
            state.done += bytes
            let now = ContinuousClock.now
            guard now - started >= .milliseconds(500) else { return nil }
            if let last = state.lastDrawn, now - last < .milliseconds(100) { return nil }
            state.lastDrawn = now
            state.drewAnything = true
            return ProgressLine.format(done: state.done, total: state.total, elapsed: now - started)
        }
        if let line { try? StandardStream.write(Array("\r\u{1B}[K\(line)".utf8), to: 2) }
    }

    /// Draws the final state and ends the line, if a line was drawn.
    public func finish() {
        guard enabled else { return }
        let (done, total, drew) = state.withLock { ($0.done, $0.total, $0.drewAnything) }
        guard drew else { return }
        let line = ProgressLine.format(done: done, total: total, elapsed: ContinuousClock.now - started)
        try? StandardStream.write(Array("\r\u{1B}[K\(line)\n".utf8), to: 2)
    }

    /// Clears a drawn line so that another line can be printed in its place.
    public func clearLine() {
        guard enabled, state.withLock({ $0.drewAnything }) else { return }
        try? StandardStream.write(Array("\r\u{1B}[K".utf8), to: 2)
    }
}
