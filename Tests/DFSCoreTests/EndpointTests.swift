import DFSCore
import Foundation
import Testing

@Suite struct EndpointTests {
    @Test(arguments: [
        ("127.0.0.1:8000", "127.0.0.1", 8000),
        (":6771", "", 6771),
        ("localhost:0", "localhost", 0),
        ("[::1]:80", "::1", 80),
        ("[fe80::1%eth0]:6771", "fe80::1%eth0", 6771),
        ("example.com:65535", "example.com", 65535),
    ])
    func parsesHostAndPort(text: String, host: String, port: Int) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
        #expect(endpoint == Endpoint(host: host, port: port))
    }

    @Test func emptyHostMeansEveryInterface() throws {
        let endpoint = try Endpoint(parsing: ":6771")
        #expect(endpoint.host.isEmpty)
        #expect(endpoint.description == ":6771")
    }

    @Test(arguments: ["8000", "", "localhost", "host:99999", "host:65536", "host:abc", "host:", "host:-1", "host:8000x"])
    func rejectsTextWithoutAValidPort(text: String) throws {
        let error = #expect(throws: DFSError.self) { try Endpoint(parsing: text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'\(text)'") == true)
    }

    @Test func portErrorNamesThePortPart() throws {
        let error = #expect(throws: DFSError.self) { try Endpoint(parsing: "host:99999") }
        #expect(error?.message.hasPrefix("'99999' in 'host:99999'") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: ["a b:80", "a/b:80", "/tmp/socket:80"])
    func rejectsHostThatCannotBeAHostName(text: String) throws {
        let error = #expect(throws: DFSError.self) { try Endpoint(parsing: text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("is not a host name") == true)
    }

    @Test func rejectsHostOver255Bytes() throws {
        #expect(try Endpoint(parsing: String(repeating: "h", count: 255) + ":1").host.utf8.count == 255)
        let error = #expect(throws: DFSError.self) { try Endpoint(parsing: String(repeating: "h", count: 256) + ":1") }
        #expect(error?.code == .invalidArgument)
    }

    @Test(arguments: ["127.0.0.1:8000", ":6771", "localhost:0", "[::1]:80", "[2001:db8::7]:443", "node-3.cluster:6773"])
    func descriptionParsesBackToTheSameEndpoint(text: String) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.description == text)
        #expect(try Endpoint(parsing: endpoint.description) == endpoint)
    }

    @Test func bracketsIPv6HostInDescription() {
        #expect(Endpoint(host: "::1", port: 80).description == "[::1]:80")
        #expect(Endpoint(host: "10.0.0.1", port: 80).description == "10.0.0.1:80")
    }

    @Test func codableRoundTrip() throws {
        let endpoint = Endpoint(host: "::1", port: 6771)
        let data = try JSONEncoder().encode(endpoint)
        #expect(try JSONDecoder().decode(Endpoint.self, from: data) == endpoint)
    }
}
