import DFSCore
import DFSHTTP
import Foundation

/// A server's HTTP port (`--http HOST:PORT`): `GET /metrics` (Prometheus), and on the meta
/// server the status page (`GET /`) and its data as JSON (`GET /api/status`).
///
/// Read-only: GET and HEAD only (anything else is 405), nothing here changes the cluster.
/// The port is neither encrypted nor authenticated, even in a cluster with a secret, so
/// there it serves `/metrics` and the page only (no JSON API), and a port bound beyond
/// loopback is warned about: whoever reaches it sees node addresses and the names of files
/// with unhealthy blocks.
public final class MonitoringServer: Sendable {
    /// What the port serves beside `/metrics`.
    public struct Routes: Sendable {
        public var metrics: ServerMetrics
        /// The HTML of `GET /`; nil for a plain pointer to /metrics.
        public var page: (@Sendable () async throws -> String)?
        /// `GET /api/status`'s JSON; nil when not served.
        public var statusJSON: (@Sendable () async throws -> [UInt8])?
        /// One line `GET /` shows when there is no page (the data node: its id).
        public var title: String

        public init(
            metrics: ServerMetrics, title: String, page: (@Sendable () async throws -> String)? = nil,
            statusJSON: (@Sendable () async throws -> [UInt8])? = nil
        ) {
            self.metrics = metrics
            self.title = title
            self.page = page
            self.statusJSON = statusJSON
        }
    }

    /// The Prometheus text format's content type.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    private let http: HTTPServer
    /// Where the port listens, with the real port when 0 was asked for.
    public var endpoint: Endpoint { http.endpoint }

    private init(http: HTTPServer) {
        self.http = http
    }

    /// Starts serving `routes` on `listen`. With `secret`, the JSON API is left out.
    public static func start(listen: Endpoint, routes: Routes, secret: Bool, component: String) async throws -> MonitoringServer {
        var options = HTTPServerOptions()
        options.component = component
        // A monitoring port answers a few scrapers and browsers, not crowds.
        options.connectionsMax = 64
        let http = try HTTPServer(host: listen.host, port: listen.port, options: options)
        var routes = routes
        if secret {
            routes.statusJSON = nil
            if !Endpoint.isLoopback(listen.host) {
                Log.warn(
                    component,
                    "the HTTP port \(http.endpoint) is not encrypted or authenticated: anyone who reaches it sees the nodes' addresses and the names of files with unhealthy blocks; bind it to 127.0.0.1 unless that is acceptable"
                )
            }
        }
        let served = routes
        await http.start { request in try await respond(to: request, routes: served, component: component) }
        Log.info(component, "metrics on http://\(http.endpoint)/metrics" + (routes.page != nil ? ", status page on http://\(http.endpoint)/" : ""))
        return MonitoringServer(http: http)
    }

    public func stop(grace: Duration = .zero) async {
        await http.close(grace: grace)
    }

    static func respond(to request: HTTPRequest, routes: Routes, component: String) async throws -> HTTPResponse {
        try request.requireMethod([.get, .head])
        var headers: HTTPHeaders = ["Cache-Control": "no-store"]
        switch request.head.path {
        case "/metrics":
            headers.set("Content-Type", metricsContentType)
            return HTTPResponse(status: .ok, headers: headers, body: .bytes(await routes.metrics.exposition()))
        case "/":
            if let page = routes.page {
                headers.set("Content-Type", "text/html; charset=utf-8")
                do {
                    return HTTPResponse(status: .ok, headers: headers, body: .bytes(Array(try await page().utf8)))
                } catch {
                    return .text(HTTPStatus(code: 503), "the status is not available now: \(DFSError.wrap(error).message)\n")
                }
            }
            return .text(.ok, "\(routes.title)\nmetrics: /metrics\n")
        case "/api/status":
            guard let statusJSON = routes.statusJSON else { break }
            headers.set("Content-Type", "application/json")
            do {
                return HTTPResponse(status: .ok, headers: headers, body: .bytes(try await statusJSON()))
            } catch {
                return .text(HTTPStatus(code: 503), "the status is not available now: \(DFSError.wrap(error).message)\n")
            }
        default:
            break
        }
        return .text(.notFound, "no such page: \(request.head.path.prefix(Limits.quotedCharactersMax)); try /, /metrics\n")
    }
}
