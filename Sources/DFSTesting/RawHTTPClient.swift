import DFSCore
import DFSHTTP
import DFSNet

/// A response as a test client read it.
public struct TestResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// An HTTP client that sends bytes exactly as a test writes them and reads responses
/// strictly, over DFSNet's connection. Every read has a deadline.
public final class RawClient: @unchecked Sendable {
    public let connection: Connection
    private var buffer: [UInt8] = []
    private var ended = false

    public init(connection: Connection) { self.connection = connection }

    /// Connects to `endpoint` (loopback in tests).
    public static func connect(to endpoint: Endpoint) async throws -> RawClient {
        RawClient(connection: try await Connection.connect(to: endpoint, timeout: .seconds(10)))
    }

    /// One `GET path` on a connection of its own, closed after the response.
    public static func get(_ endpoint: Endpoint, _ path: String) async throws -> TestResponse {
        let client = try await connect(to: endpoint)
        defer { Task { await client.close() } }
        try await client.send("GET \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nConnection: close\r\n\r\n")
        return try await client.readResponse()
    }

    public func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) async throws {
        try await connection.sendBytes(bytes, before: .now + .seconds(10))
    }

    public func close() async { await connection.close() }

    /// Reads more bytes into the buffer; false at the end of the stream (or a reset).
    private func fill(deadline: ContinuousClock.Instant) async throws -> Bool {
        if ended { return false }
        do {
            guard let bytes = try await connection.readSome(maxBytes: 65536, before: deadline) else {
                ended = true
                return false
            }
            buffer += bytes
            return true
        } catch let error as DFSError where error.code == .connectionFailed {
            ended = true
            return false
        }
    }

    private func line(deadline: ContinuousClock.Instant) async throws -> String {
        while true {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")), end > 0, buffer[end - 1] == UInt8(ascii: "\r") {
                let line = String(decoding: buffer[..<(end - 1)], as: UTF8.self)
                buffer.removeSubrange(...end)
                return line
            }
            guard try await fill(deadline: deadline) else { throw DFSError(.connectionFailed, "the stream ended in a line: \(buffer.count) bytes") }
        }
    }

    private func bytes(_ count: Int, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        while buffer.count < count {
            guard try await fill(deadline: deadline) else { throw DFSError(.connectionFailed, "the stream ended in a body") }
        }
        defer { buffer.removeSubrange(..<count) }
        return Array(buffer[..<count])
    }

    /// Reads one response (an interim 1xx too); `toHead` when it answers a HEAD request.
    public func readResponse(toHead: Bool = false, timeout: Duration = .seconds(10)) async throws -> TestResponse {
        let deadline = ContinuousClock.now + timeout
        let statusLine = try await line(deadline: deadline)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
            throw DFSError(.protocolError, "not a status line: \(statusLine)")
        }
        var headers = HTTPHeaders()
        while true {
            let field = try await line(deadline: deadline)
            if field.isEmpty { break }
            guard let colon = field.firstIndex(of: ":") else { throw DFSError(.protocolError, "not a field: \(field)") }
            headers.add(String(field[..<colon]), String(field[field.index(after: colon)...].drop { $0 == " " }))
        }
        var response = TestResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: [])
        if toHead || status < 200 || status == 204 || status == 304 { return response }
        if headers["Transfer-Encoding"] == "chunked" {
            while true {
                let sizeLine = try await line(deadline: deadline)
                guard let size = Int(sizeLine, radix: 16) else { throw DFSError(.protocolError, "bad chunk size \(sizeLine)") }
                if size == 0 {
                    while try await !line(deadline: deadline).isEmpty {}
                    return response
                }
                response.body += try await bytes(size, deadline: deadline)
                guard try await line(deadline: deadline).isEmpty else { throw DFSError(.protocolError, "chunk longer than its size") }
            }
        }
        if let length = headers["Content-Length"].flatMap({ Int($0) }) {
            response.body = try await bytes(length, deadline: deadline)
            return response
        }
        response.body = try await readToEnd(timeout: timeout)
        return response
    }

    /// Everything until the server closes; throws when it does not close in time.
    public func readToEnd(timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while try await fill(deadline: deadline) {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server has closed the connection, with nothing more sent, within `timeout`.
    public func serverClosed(timeout: Duration = .seconds(10)) async throws -> Bool {
        try await readToEnd(timeout: timeout).isEmpty
    }
}
