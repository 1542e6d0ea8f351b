import Foundation

/// Lines for operators on standard error: `2026-11-24T20:58:11Z meta warn: message`.
///
/// The level comes from `DFS_LOG` (`debug`, `info`, `warn`, `error`, `off`); the default is
/// `info`. Tests set `warn` so that expected rejections do not drown the output.
public enum Log {
    public enum Level: Int, Comparable, Sendable {
        case debug, info, warn, error, off
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private static let state = Mutex(initialLevel())

    public static var level: Level {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    private static func initialLevel() -> Level {
        switch ProcessInfo.processInfo.environment["DFS_LOG"]?.lowercased() {
        case "debug": return .debug
        case "warn", "warning": return .warn
        case "error": return .error
        case "off", "none": return .off
        default: return .info
        }
    }

    public static func debug(_ component: String, _ message: @autoclosure () -> String) { write(.debug, component, message) }
    public static func info(_ component: String, _ message: @autoclosure () -> String) { write(.info, component, message) }
    public static func warn(_ component: String, _ message: @autoclosure () -> String) { write(.warn, component, message) }
    public static func error(_ component: String, _ message: @autoclosure () -> String) { write(.error, component, message) }

    private static func write(_ lineLevel: Level, _ component: String, _ message: () -> String) {
        guard lineLevel >= level else { return }
        let name = ["debug", "info", "warn", "error", "off"][lineLevel.rawValue]
        let stamp = Date().formatted(.iso8601)
        try? StandardStream.write(Array("\(stamp) \(component) \(name): \(message())\n".utf8), to: 2)
    }
}

/// A lock around a value; Synchronization's Mutex without the import's platform floor.
public final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    public init(_ value: Value) { self.value = value }
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
