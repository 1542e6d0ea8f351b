import DFSCore
import DFSPostgres
import DFSSystem
import DFSTesting
import Testing

@testable import DFSMeta

/// What a failover of the PostgreSQL database does to a meta store: its connection is lost
/// for a while, and the database may come back with its latest commits gone, the lease
/// row's included (``MetaFence``, ``MetaElection``).
@Suite(.enabled(if: PostgresTestServer.shouldRun, "PostgreSQL's initdb and pg_ctl are not installed (make deps installs them)"))
struct DatabaseFailoverTests {
    static let node = NodeID("n1")

    static func register(_ store: MetaStore) async throws {
        try await store.registerNode(
            node, address: Endpoint(host: "127.0.0.1", port: 7001), capacityBytes: 1000, usedBytes: 0, blockCount: 0, now: 1)
    }

    /// A failover to an asynchronous standby, or a restore, can take the lease row back to
    /// before the latest takeover; the next takeover then hands out a token that a running
    /// server already holds. The holder, checked with the token, keeps that server out.
    @Test func aTokenHandedOutAgainFencesItsFormerHolder() async throws {
        let uri = try await PostgresTestServer.freshDatabase()
        let first = try MetaElection(uri: uri, address: Endpoint(host: "127.0.0.1", port: 8001), leaseDuration: .seconds(30))
        let second = try MetaElection(uri: uri, address: Endpoint(host: "127.0.0.1", port: 8002), leaseDuration: .seconds(30))
        try await first.prepare()
        try await second.prepare()
        let token = try #require(try await first.tryAcquire())
        let lost = Mutex(false)
        let fence = MetaFence(token: token, holder: first.holder, idleTransactionTimeout: .seconds(15)) { lost.withLock { $0 = true } }
        let store = try MetaStore(path: uri, fence: fence)
        try await Self.register(store)

        // The database forgets the first server's takeover: the row as it was before, expired.
        try await BlockingIO.run {
            let connection = try PostgresConnection(uri: uri)
            defer { connection.close() }
            try connection.execute(
                "UPDATE \(MetaElection.leaseTable) SET token = token - 1, holder = '', address = '', expires = '-infinity' WHERE id = 0")
        }
        #expect(try await second.tryAcquire() == token)

        // The first server holds the same token number, and still can neither write nor renew.
        let error = await #expect(throws: DFSError.self) { try await Self.register(store) }
        #expect(error?.code == .notActive)
        #expect(lost.withLock { $0 })
        #expect(try await first.renew(token: token) == false)
        #expect(try await second.renew(token: token) == true)
        await first.close()
        await second.close()
    }

    /// A database that goes away (its server killed, or failing over) fails the store's
    /// calls as `unavailable` and transient, which the request loop sends back as an error
    /// for the client to retry; a `connectionFailed` would read as the client's own
    /// connection failing. The next call after the database is back opens a new connection.
    @Test func aStoreWhoseDatabaseGoesAwayIsUnavailableAndReconnects() async throws {
        try await PostgresTestServer.with { server in
            let store = try MetaStore(path: server.uri)
            try await Self.register(store)
            await server.kill()
            for _ in 0..<2 {
                let error = await #expect(throws: DFSError.self) { try await Self.register(store) }
                #expect(error?.code == .unavailable)
                #expect(error?.transient == true)
            }
            try await server.restart()
            try await Self.register(store)
            #expect(try await store.schemaVersion == MetaSchema.version)
        }
    }
}
