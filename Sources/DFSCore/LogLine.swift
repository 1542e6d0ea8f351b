import Foundation

/// One line of the log, as ``DFSLogHandler`` writes it: text for people, or one JSON object
/// for log collectors. Pure, so that tests give it a fixed time.
public struct LogLine: Sendable, Equatable {
    public var time: Date
    public var level: Log.Level
    public var component: String
    public var message: String
    /// Further fields, written in the order of their keys.
    public var metadata: [String: String]

    public init(time: Date, level: Log.Level, component: String, message: String, metadata: [String: String] = [:]) {
        self.time = time
        self.level = level
        self.component = component
        self.message = message
        self.metadata = metadata
    }

    /// The keys every JSON line has; a metadata key that is one of them is written as
    /// `metadata.KEY`, so that no key appears twice in an object.
    static let jsonKeys: Set<String> = ["time", "level", "component", "message"]

    public func bytes(_ format: Log.Format) -> [UInt8] {
        switch format {
        case .text: text()
        case .json: json()
        }
    }

    /// `2026-11-24T20:58:11Z meta warn: message`, then ` key=value` for each metadata field,
    /// and a newline: the line dfs has always printed. The message is written as it is.
    public func text() -> [UInt8] {
        var line = "\(time.formatted(.iso8601)) \(component) \(level.name): \(message)"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(metadata[key]!)"
        }
        line += "\n"
        return Array(line.utf8)
    }

    /// `{"time":"…","level":"…","component":"…","message":"…"}` with the metadata fields after
    /// these, every value a string, and a newline. Quotes, backslashes and control characters
    /// (newlines too) are escaped, so a line is always one line of valid JSON; a String holds
    /// only valid Unicode (bytes that were not UTF-8 became U+FFFD when it was made), so
    /// the rest is written as UTF-8.
    public func json() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96 + message.utf8.count)
        bytes.append(UInt8(ascii: "{"))
        Self.appendField("time", time.formatted(.iso8601), to: &bytes, first: true)
        Self.appendField("level", level.name, to: &bytes)
        Self.appendField("component", component, to: &bytes)
        Self.appendField("message", message, to: &bytes)
        for key in metadata.keys.sorted() {
            Self.appendField(Self.jsonKeys.contains(key) ? "metadata." + key : key, metadata[key]!, to: &bytes)
        }
        bytes.append(contentsOf: [UInt8(ascii: "}"), UInt8(ascii: "\n")])
        return bytes
    }

    private static func appendField(_ key: String, _ value: String, to bytes: inout [UInt8], first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        JSONText.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        JSONText.appendString(value, to: &bytes)
    }
}
