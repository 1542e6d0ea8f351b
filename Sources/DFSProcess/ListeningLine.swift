import DFSCore

/// The line a server prints on standard output once it listens, `dfs serve-meta: listening
/// on 127.0.0.1:8000`: how a process that started it with port 0 learns the real port.
/// The servers print it and the benchmark and the tests read it through this one type.
public enum ListeningLine {
    /// The line `command` prints once it listens at `endpoint`.
    public static func text(command: String, endpoint: Endpoint) -> String {
        "dfs \(command): \(marker)\(endpoint)"
    }

    /// The endpoint of the first listening line in `output`, once that whole line (up to its
    /// newline) has been written; nil before.
    public static func endpoint(in output: String) throws -> Endpoint? {
        guard let range = output.range(of: marker) else { return nil }
        let rest = output[range.upperBound...]
        guard let end = rest.firstIndex(of: "\n") else { return nil }
        return try Endpoint(parsing: String(rest[..<end].prefix { !$0.isWhitespace }))
    }

    private static let marker = "listening on "
}
