/// A TCP address as `HOST:PORT`. An empty host means every interface when listening.
public struct Endpoint: Hashable, Codable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `:PORT` or `[IPv6]:PORT`.
    public init(parsing text: String) throws(DFSError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw DFSError(.invalidArgument, "'\(text)' is not HOST:PORT (for example 127.0.0.1:8000)")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw DFSError(.invalidArgument, "'\(portText)' in '\(text)' is not a port number (0 to 65535)")
        }
        guard host.utf8.count <= 255, !host.contains(where: { $0 == "/" || $0 == " " }) else {
            throw DFSError(.invalidArgument, "'\(host)' in '\(text)' is not a host name")
        }
        self.init(host: host, port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// A path inside the cluster behind a meta server: `HOST:PORT:PATH`.
public struct RemoteLocation: Hashable, Sendable, CustomStringConvertible {
    public var endpoint: Endpoint
    public var path: DFSPath

    public init(endpoint: Endpoint, path: DFSPath) {
        self.endpoint = endpoint
        self.path = path
    }

    /// Parses `HOST:PORT:PATH` (the path's leading `/` optional) or `HOST:PORT` (the root).
    /// Returns nil when the text does not have that shape, so that it can be taken as a local path.
    public static func parse(_ text: String) throws(DFSError) -> RemoteLocation? {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty, !parts[0].contains("/"),
            let port = Int(parts[1]), (1...65535).contains(port)
        else { return nil }
        let endpoint = Endpoint(host: String(parts[0]), port: port)
        let path = parts.count == 3 ? try DFSPath(String(parts[2])) : DFSPath.root
        return RemoteLocation(endpoint: endpoint, path: path)
    }

    /// The short form `dfs:PATH`, which takes the meta server from `DFS_META`.
    public static let shortPrefix = "dfs:"

    /// Parses `HOST:PORT:PATH`, `HOST:PORT`, or `dfs:PATH` with the meta server named by
    /// `DFS_META` in `environment`. Returns nil for text of neither shape: a local path.
    public static func parse(_ text: String, environment: [String: String]) throws(DFSError) -> RemoteLocation? {
        guard text.hasPrefix(shortPrefix) else { return try parse(text) }
        guard let meta = environment["DFS_META"], !meta.isEmpty else {
            throw DFSError(.invalidArgument, "\(text) needs DFS_META=HOST:PORT in the environment (or write HOST:PORT:PATH)")
        }
        let endpoint: Endpoint
        do {
            endpoint = try Endpoint(parsing: meta)
        } catch {
            throw DFSError(.invalidArgument, "DFS_META: \(error.message)")
        }
        let pathText = String(text.dropFirst(shortPrefix.count))
        return RemoteLocation(endpoint: endpoint, path: pathText.isEmpty ? .root : try DFSPath(pathText))
    }

    public var description: String { "\(endpoint):\(path)" }
}
