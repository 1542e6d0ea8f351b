/// A TCP address as `HOST:PORT`. An empty host means every interface when listening.
public struct Endpoint: Hashable, Codable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// True when `host` reaches this machine only (127.0.0.0/8, ::1, localhost); an empty
    /// host (every interface) is not.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `:PORT` or `[IPv6]:PORT`. Cut at the last ':' byte: a mark that
    /// combines with the ':' does not hide it.
    public init(parsing text: String) throws(DFSError) {
        let bytes = text.utf8
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else {
            throw DFSError(.invalidArgument, "'\(DisplayText.escaped(text))' is not HOST:PORT (for example 127.0.0.1:8000)")
        }
        var host = String(decoding: bytes[..<colon], as: UTF8.self)
        let portText = String(decoding: bytes[bytes.index(after: colon)...], as: UTF8.self)
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(decoding: host.utf8.dropFirst().dropLast(), as: UTF8.self) }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw DFSError(.invalidArgument, "'\(DisplayText.escaped(portText))' in '\(DisplayText.escaped(text))' is not a port number (0 to 65535)")
        }
        guard host.utf8.count <= 255, !host.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: " ") }) else {
            throw DFSError(.invalidArgument, "'\(DisplayText.escaped(host))' in '\(DisplayText.escaped(text))' is not a host name")
        }
        self.init(host: host, port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Most meta server addresses one list names (`a:8000,b:8000`).
    public static let listMax = 8

    /// Parses `HOST:PORT[,HOST:PORT...]`: the meta servers of one cluster (an active one and
    /// its standbys), at most ``listMax``, repeats dropped.
    public static func parseList(_ text: String) throws(DFSError) -> [Endpoint] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= listMax else {
            throw DFSError(.invalidArgument, "'\(DisplayText.escaped(text))' names \(parts.count) servers; at most \(listMax)")
        }
        var endpoints: [Endpoint] = []
        for part in parts {
            let endpoint = try Endpoint(parsing: String(part))
            if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
        }
        return endpoints
    }

    /// `a:8000,b:8000`: a list as ``parseList(_:)`` reads it.
    public static func listDescription(_ endpoints: [Endpoint]) -> String {
        endpoints.map(\.description).joined(separator: ",")
    }
}

/// A path inside the cluster behind a meta server: `HOST:PORT:PATH`, or with the cluster's
/// standby meta servers too, `HOST:PORT,HOST:PORT:PATH`.
public struct RemoteLocation: Hashable, Sendable, CustomStringConvertible {
    /// Every meta server named, the first one first.
    public var endpoints: [Endpoint]
    public var path: DFSPath

    /// The first meta server named.
    public var endpoint: Endpoint { endpoints[0] }

    public init(endpoint: Endpoint, path: DFSPath) {
        self.init(endpoints: [endpoint], path: path)
    }

    public init(endpoints: [Endpoint], path: DFSPath) {
        precondition(!endpoints.isEmpty, "a location needs a meta server")
        self.endpoints = endpoints
        self.path = path
    }

    /// Parses `HOST:PORT:PATH` (the path's leading `/` optional) or `HOST:PORT` (the root),
    /// where `HOST:PORT` may be a list, `HOST:PORT,HOST:PORT`. Returns nil when the text does
    /// not have that shape, so that it can be taken as a local path. Cut at ':' and ','
    /// bytes, as paths are cut at '/' bytes (see ``DFSPath``).
    public static func parse(_ text: String) throws(DFSError) -> RemoteLocation? {
        let colon = UInt8(ascii: ":")
        let comma = UInt8(ascii: ",")
        var rest = Substring(text).utf8
        var endpoints: [Endpoint] = []
        while true {
            guard let first = rest.firstIndex(of: colon) else { return nil }
            let host = rest[..<first]
            let afterHost = rest[rest.index(after: first)...]
            let end = afterHost.firstIndex { $0 == colon || $0 == comma } ?? afterHost.endIndex
            let portText = String(decoding: afterHost[..<end], as: UTF8.self)
            guard !host.isEmpty, !host.contains(UInt8(ascii: "/")), !host.contains(comma), let port = Int(portText),
                (1...65535).contains(port)
            else { return nil }
            let endpoint = Endpoint(host: String(decoding: host, as: UTF8.self), port: port)
            if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
            guard endpoints.count <= Endpoint.listMax else {
                throw DFSError(.invalidArgument, "'\(DisplayText.escaped(text))' names more than \(Endpoint.listMax) meta servers")
            }
            guard end < afterHost.endIndex else { return RemoteLocation(endpoints: endpoints, path: .root) }
            rest = afterHost[afterHost.index(after: end)...]
            if afterHost[end] == colon {
                return RemoteLocation(endpoints: endpoints, path: try DFSPath(String(decoding: rest, as: UTF8.self)))
            }
        }
    }

    /// The short form `dfs:PATH`, which takes the meta server from `DFS_META`.
    public static let shortPrefix = "dfs:"

    /// Parses `HOST:PORT:PATH`, `HOST:PORT`, or `dfs:PATH` with the meta server named by
    /// `DFS_META` in `environment`. Returns nil for text of neither shape: a local path.
    public static func parse(_ text: String, environment: [String: String]) throws(DFSError) -> RemoteLocation? {
        guard text.utf8.starts(with: shortPrefix.utf8) else { return try parse(text) }
        guard let meta = environment["DFS_META"], !meta.isEmpty else {
            throw DFSError(.invalidArgument, "\(DisplayText.escaped(text)) needs DFS_META=HOST:PORT in the environment (or write HOST:PORT:PATH)")
        }
        let endpoints: [Endpoint]
        do {
            endpoints = try Endpoint.parseList(meta)
        } catch {
            throw DFSError(.invalidArgument, "DFS_META: \(error.message)")
        }
        let pathText = String(decoding: text.utf8.dropFirst(shortPrefix.utf8.count), as: UTF8.self)
        return RemoteLocation(endpoints: endpoints, path: pathText.isEmpty ? .root : try DFSPath(pathText))
    }

    public var description: String { "\(Endpoint.listDescription(endpoints)):\(path)" }
}
