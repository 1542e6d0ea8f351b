import DFSCore
import DFSHTTP
import Foundation
import Testing

/// The server as real clients see it: curl, and Python's http.client on one kept-alive
/// connection.
@Suite struct RealClientTests {
    /// Runs a program to its end without blocking a thread of the cooperative pool, with
    /// a deadline; its standard output and status.
    static func run(_ path: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        let (ended, endedContinuation) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in endedContinuation.finish() }
        try process.run()
        let timer = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
        }
        for await _ in ended {}
        timer.cancel()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    /// The path of `program` on PATH, or nil.
    static func find(_ program: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let curl = find("curl")
    static let python = find("python3")

    @Test(.enabled(if: curl != nil, "curl is not installed")) func curlGetsHeadsAndPuts() async throws {
        let curl = try #require(Self.curl)
        try await TestServer.with { server in
            let base = "http://127.0.0.1:\(server.endpoint.port)"
            let get = try await Self.run(curl, ["-sS", "-w", "|%{http_code}", "\(base)/hello"])
            #expect(get.status == 0 && get.output == "hello\n|200")
            let head = try await Self.run(curl, ["-sS", "-I", "\(base)/hello"])
            #expect(head.status == 0)
            #expect(head.output.contains("HTTP/1.1 200 OK") && head.output.lowercased().contains("content-length: 6"))
            let put = try await Self.run(curl, ["-sS", "-H", "Expect: 100-continue", "--data-binary", "some data", "\(base)/echo?a=b%20c"])
            #expect(put.status == 0 && put.output == "some data")
            let chunked = try await Self.run(curl, ["-sS", "-H", "Transfer-Encoding: chunked", "--data-binary", "chunked data", "\(base)/echo"])
            #expect(chunked.status == 0 && chunked.output == "chunked data")
            let stream = try await Self.run(curl, ["-sS", "\(base)/stream"])
            #expect(stream.status == 0 && stream.output == "one,two,three")
            let notAllowed = try await Self.run(curl, ["-sS", "-X", "DELETE", "-w", "|%{http_code}", "\(base)/hello"])
            #expect(notAllowed.output.hasSuffix("|405"))
            // Two URLs in one run share one connection.
            let twice = try await Self.run(curl, ["-sS", "-w", "%{num_connects}|", "\(base)/hello", "\(base)/hello"])
            #expect(twice.output == "hello\n1|hello\n0|")
        }
    }

    @Test(.enabled(if: python != nil, "python3 is not installed")) func pythonKeepsOneConnectionForSeveralRequests() async throws {
        let python = try #require(Self.python)
        let script = """
            import http.client, sys
            connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
            ports = set()
            for index in range(5):
                connection.request("PUT", "/echo?i=%d" % index, body=b"x" * index)
                response = connection.getresponse()
                assert response.status == 200, response.status
                assert response.read() == b"x" * index
                ports.add(connection.sock.getsockname()[1])
            connection.request("HEAD", "/hello")
            response = connection.getresponse()
            assert response.getheader("Content-Length") == "6"
            assert response.read() == b""
            ports.add(connection.sock.getsockname()[1])
            connection.request("GET", "/stream")
            assert connection.getresponse().read() == b"one,two,three"
            ports.add(connection.sock.getsockname()[1])
            print(len(ports))
            """
        try await TestServer.with { server in
            let result = try await Self.run(python, ["-c", script, "\(server.endpoint.port)"])
            #expect(result.status == 0)
            #expect(result.output == "1\n")
        }
    }
}
