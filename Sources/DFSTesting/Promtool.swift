import DFSCore
import DFSSystem
import Foundation

/// Prometheus's own checker of the text exposition format (`promtool check metrics`, from
/// Debian's `prometheus` package, which `make deps` installs): the tests parse every
/// server's `/metrics` with it rather than with a parser of their own.
public enum Promtool {
    public static var path: String? {
        ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The problems promtool finds in `exposition` (format errors and lint: names, units,
    /// help); empty when there are none. Throws when promtool is not installed.
    public static func problems(in exposition: String) async throws -> [String] {
        guard let path else { throw DFSError(.unavailable, "promtool is not installed (make deps installs Debian's prometheus package)") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-metrics-\(UUID().uuidString.prefix(12)).txt").path
        try Data(exposition.utf8).write(to: URL(fileURLWithPath: file))
        defer { FileSystem.removeQuietly(file) }
        let result = try await Subprocess.run("/bin/sh", ["-c", "exec \"$0\" check metrics < \"$1\"", path, file])
        guard result.status != 0 else { return [] }
        let lines = (result.standardOutput + result.standardError).split(separator: "\n").map(String.init)
        return lines.isEmpty ? ["promtool failed with status \(result.status)"] : lines
    }
}
