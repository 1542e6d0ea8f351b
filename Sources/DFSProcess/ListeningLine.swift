import DFSCore

/// The line a server prints on standard output once it listens, `dfs serve-meta: listening
/// on 127.0.0.1:8000`: how a process that started it with port 0 learns the real port.
/// The servers print it and the benchmark and the tests read it through this one type.
public enum ListeningLine {
    /// The line `command` prints once it listens at `endpoint`.
    public static func text(command: String, endpoint: Endpoint) -> String {
        "dfs \(command): \(marker)\(endpoint)"
    }

    /// The line a server started with `--http` prints once that port listens too.
    public static func httpText(command: String, endpoint: Endpoint) -> String {
        "dfs \(command): \(httpMarker)\(endpoint)"
    }

    /// The endpoint of the first listening line in `output`, once that whole line (up to its
    /// newline) has been written; nil before.
    public static func endpoint(in output: String) throws -> Endpoint? {
        try endpoint(after: marker, in: output)
    }

    /// The HTTP port's endpoint, from the line ``httpText(command:endpoint:)`` wrote.
    public static func httpEndpoint(in output: String) throws -> Endpoint? {
        try endpoint(after: httpMarker, in: output)
    }

    private static func endpoint(after marker: String, in output: String) throws -> Endpoint? {
        guard let range = output.range(of: marker) else { return nil }
        let rest = output[range.upperBound...]
        guard let end = rest.firstIndex(of: "\n") else { return nil }
        return try Endpoint(parsing: String(rest[..<end].prefix { !$0.isWhitespace }))
    }

    private static let marker = "listening on "
    private static let httpMarker = "HTTP (metrics) on "
}
