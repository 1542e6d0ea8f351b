import DFSCore
import DFSTesting
import Testing

@testable import DFSMeta

@Suite struct PostgresStoreSmokeTests {
    @Test(arguments: StoreKind.allCases) func fileRoundTrip(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let node = NodeID("n1")
        try await store.registerNode(node, address: Endpoint(host: "127.0.0.1", port: 7001), capacityBytes: 1000, usedBytes: 0, blockCount: 0, now: 1)
        try await store.writeOneBlockFile("/a/b.txt", length: 10, on: node)
        let listing = try await store.list(path: try DFSPath("/a"), after: nil, limit: 10)
        #expect(listing.entries.map(\.path.name) == ["b.txt"])
    }
}
