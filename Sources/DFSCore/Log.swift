import Foundation
import Logging

/// The servers' and the client's log, on swift-log: `Log.warn("meta", "node 3 is silent")`.
///
/// Each component (`meta`, `data`, `client`) has one `Logger`, labelled with its name and
/// made on its first line. A process that bootstrapped swift-log (`LoggingSystem.bootstrap`)
/// gets dfs's lines through its own handlers: the `dfs` executable bootstraps
/// ``DFSLogHandler``, and a program that embeds the client library bootstraps what it likes.
/// A process that did not (tests, in-process clusters) would get swift-log's default,
/// `StreamLogHandler`, in another format: the component is then given a ``DFSLogHandler``
/// instead, so dfs's lines read the same in every process. A process that bootstraps
/// `StreamLogHandler` itself gets that too. Bootstrap before the first line: a component's
/// `Logger` is made once.
///
/// ``level`` is checked before anything else, so that a line below it costs one lock and no
/// string: it comes from `DFS_LOG` (`debug`, `info`, `warn`, `error`, `off`; `info` when unset
/// or unknown), in every process. A handler the process bootstrapped filters again by its own
/// level. Tests set `warn` so that expected rejections do not drown the output.
public enum Log {
    /// dfs's levels, and the names its lines print; swift-log's seven map onto them.
    public enum Level: Int, Comparable, Sendable {
        case debug, info, warn, error, off
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// How ``DFSLogHandler`` writes a line: `text` for people, `json` for log collectors.
    public enum Format: String, CaseIterable, Sendable {
        case text, json
    }

    private struct Settings {
        var level: Level
        var format: Format
    }

    private static let settings = Mutex(
        Settings(
            level: Level(parsing: ProcessInfo.processInfo.environment["DFS_LOG"]),
            format: Format(parsing: ProcessInfo.processInfo.environment["DFS_LOG_FORMAT"])))

    private static let loggers = Mutex([String: Logger]())

    /// Lines below this level are dropped before their message is built.
    public static var level: Level {
        get { settings.withLock { $0.level } }
        set { settings.withLock { $0.level = newValue } }
    }

    /// The format of every ``DFSLogHandler`` not given one of its own: from `DFS_LOG_FORMAT`
    /// (`text` when unset or unknown), or a server's `--log-format`.
    public static var format: Format {
        get { settings.withLock { $0.format } }
        set { settings.withLock { $0.format = newValue } }
    }

    public static func debug(
        _ component: String, _ message: @autoclosure () -> String, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        write(.debug, component, message, metadata, file: file, function: function, line: line)
    }

    public static func info(
        _ component: String, _ message: @autoclosure () -> String, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        write(.info, component, message, metadata, file: file, function: function, line: line)
    }

    public static func warn(
        _ component: String, _ message: @autoclosure () -> String, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        write(.warn, component, message, metadata, file: file, function: function, line: line)
    }

    public static func error(
        _ component: String, _ message: @autoclosure () -> String, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        write(.error, component, message, metadata, file: file, function: function, line: line)
    }

    /// True when a line of `lineLevel` would be written; one lock, as every call pays.
    public static func isEnabled(_ lineLevel: Level) -> Bool {
        lineLevel != .off && lineLevel >= level
    }

    private static func write(
        _ lineLevel: Level, _ component: String, _ message: () -> String, _ metadata: () -> Logger.Metadata?,
        file: String, function: String, line: UInt
    ) {
        guard isEnabled(lineLevel) else { return }
        logger(for: component).log(
            level: lineLevel.loggerLevel, Logger.Message(stringLiteral: message()), metadata: metadata(),
            file: file, function: function, line: line)
    }

    /// The component's `Logger`, made on its first line.
    static func logger(for component: String) -> Logger {
        if let logger = loggers.withLock({ $0[component] }) { return logger }
        // Made outside the lock: the factory is the process's, and may take locks of its own.
        var made = Logger(label: component)
        if made.handler is StreamLogHandler {
            made = Logger(label: component) { label in DFSLogHandler(label: label) }
        }
        return loggers.withLock { $0[component, default: made] }
    }
}

extension Log.Level {
    /// A `DFS_LOG` value: `debug`, `info`, `warn` or `warning`, `error`, `off` or `none`, in any
    /// case; anything else, or nothing, is `info`.
    public init(parsing text: String?) {
        switch text?.lowercased() {
        case "debug": self = .debug
        case "warn", "warning": self = .warn
        case "error": self = .error
        case "off", "none": self = .off
        default: self = .info
        }
    }

    /// swift-log's level as dfs names it: trace is debug, notice is info, critical is error.
    public init(_ level: Logger.Level) {
        switch level {
        case .trace, .debug: self = .debug
        case .info, .notice: self = .info
        case .warning: self = .warn
        case .error, .critical: self = .error
        }
    }

    /// The swift-log level a dfs line of this level is logged at.
    public var loggerLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        case .off: .critical
        }
    }

    /// The lowest swift-log level that a handler filtering at this level lets through: at
    /// `debug`, trace too (printed as debug). At `off` it is critical, which the handler then
    /// drops: swift-log has no level above it.
    public var lowestLoggerLevel: Logger.Level {
        self == .debug ? .trace : loggerLevel
    }

    /// The word a line prints.
    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        case .off: "off"
        }
    }
}

extension Log.Format {
    /// A `DFS_LOG_FORMAT` value, `text` or `json` in any case; anything else is `text`.
    public init(parsing text: String?) {
        self = text.flatMap { Log.Format(rawValue: $0.lowercased()) } ?? .text
    }
}
