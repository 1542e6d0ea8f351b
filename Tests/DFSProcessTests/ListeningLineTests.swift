import DFSCore
import DFSProcess
import Testing

/// The line a server prints once it listens, and its reading by whoever started it.
@Suite struct ListeningLineTests {
    let endpoint = Endpoint(host: "127.0.0.1", port: 40123)

    @Test func readsBackTheEndpointItPrints() throws {
        let line = ListeningLine.text(command: "serve-meta", endpoint: endpoint)
        #expect(line == "dfs serve-meta: listening on 127.0.0.1:40123")
        #expect(try ListeningLine.endpoint(in: line + "\n") == endpoint)
    }

    /// Output is read while the server writes it: half a line may not be read as a port.
    @Test func waitsForTheWholeLine() throws {
        let line = ListeningLine.text(command: "serve-data", endpoint: endpoint)
        #expect(try ListeningLine.endpoint(in: "") == nil)
        #expect(try ListeningLine.endpoint(in: "dfs serve-data: listening on 127.0.0.1:40") == nil)
        #expect(try ListeningLine.endpoint(in: line) == nil)
        #expect(try ListeningLine.endpoint(in: line + "\n") == endpoint)
    }

    @Test func findsTheLineAmongOthersAndIgnoresTrailingSpace() throws {
        let output = "starting\n" + ListeningLine.text(command: "serve-data", endpoint: endpoint) + " \nnext line\n"
        #expect(try ListeningLine.endpoint(in: output) == endpoint)
    }

    @Test func aMangledAddressIsAnError() {
        #expect(throws: DFSError.self) { try ListeningLine.endpoint(in: "dfs serve-meta: listening on nowhere\n") }
    }
}
