import ArgumentParser
import DFSCore
import Foundation

/// The servers' `--log-format`: how their lines on standard error look.
struct LogOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How log lines are written: text, or json (one object a line, for log collectors).",
            discussion: "Default: the DFS_LOG_FORMAT environment variable, else text. DFS_LOG sets the level (debug, info, warn, error, off).",
            valueName: "format"))
    var logFormat: Log.Format?

    /// Takes the format for every line after this one; a server calls it before it logs.
    func apply() {
        if let logFormat { Log.format = logFormat }
    }
}

extension Log.Format: ExpressibleByArgument {}

/// A server command's own line on standard error (a warning, stopping, the error it stopped
/// on): `dfs serve-meta: stopping; ...` as it always read, or, when the server logs JSON, a
/// JSON line like its other log lines, so that a collector reads every line. Printed at any
/// `DFS_LOG` level, as before.
func printServerLine(_ command: String?, _ level: Log.Level, _ message: String) {
    switch Log.format {
    case .text:
        printError("dfs\(command.map { " " + $0 } ?? ""): \(level == .warn ? "warning: " : "")\(message)")
    case .json:
        let line = LogLine(time: Date(), level: level, component: command ?? "dfs", message: message)
        try? StandardStream.write(line.json(), to: 2)
    }
}
