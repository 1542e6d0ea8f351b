import Foundation
import Logging

/// dfs's swift-log handler: each line is one write(2) of a ``LogLine`` to standard error,
/// whole, so that lines from many threads never interleave.
///
/// The `dfs` executable bootstraps it for the whole process; ``Log`` uses it for its
/// components when nobody bootstrapped another. Unless it is given its own, it follows
/// ``Log/level`` and ``Log/format`` at each line, so a server's `--log-format`, set after the
/// bootstrap, still applies to every logger. The component a line names is the logger's
/// label, or its `component` metadata when it has one.
public struct DFSLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// The level this handler filters at; nil follows ``Log/level``.
    private var fixedLevel: Log.Level?
    /// The format it writes; nil follows ``Log/format``.
    private let format: Log.Format?
    private let now: @Sendable () -> Date
    private let output: @Sendable ([UInt8]) -> Void

    /// `now` and `output` are the clock and standard error; tests give their own.
    public init(
        label: String, level: Log.Level? = nil, format: Log.Format? = nil,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
        now: @escaping @Sendable () -> Date = { Date() },
        output: @escaping @Sendable ([UInt8]) -> Void = { bytes in try? StandardStream.write(bytes, to: 2) }
    ) {
        self.label = label
        self.fixedLevel = level
        self.format = format
        self.metadataProvider = metadataProvider
        self.now = now
        self.output = output
    }

    /// dfs has four levels: a level set here is rounded to one of them (notice is info,
    /// critical is error).
    public var logLevel: Logger.Level {
        get { (fixedLevel ?? Log.level).lowestLoggerLevel }
        set { fixedLevel = Log.Level(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let threshold = fixedLevel ?? Log.level
        let level = Log.Level(event.level)
        guard threshold != .off, level >= threshold else { return }
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, provided in provided } }
        if let explicit = event.metadata { fields.merge(explicit) { _, explicit in explicit } }
        if let error = event.error {
            fields["error.message"] = "\(error)"
            fields["error.type"] = .string(String(reflecting: type(of: error)))
        }
        let component = fields.removeValue(forKey: "component").map { "\($0)" } ?? label
        let line = LogLine(
            time: now(), level: level, component: component, message: event.message.description,
            metadata: fields.mapValues { "\($0)" })
        output(line.bytes(format ?? Log.format))
    }
}
