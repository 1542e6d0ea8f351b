import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// `MetaService` driven directly, on a store of each engine and a clock the test moves on:
/// liveness, the start-up quiet period and lease expiry, checked without sleeping.
@Suite struct MetaServiceClockTests {
    let clock = ManualClock()
    let node = NodeID("node-a")

    func makeService(_ kind: StoreKind, _ configure: (inout MetaServer.Options) -> Void = { _ in }) async throws -> MetaService {
        var options = MetaServer.Options(listen: Endpoint(host: "127.0.0.1", port: 0), databasePath: ":memory:")
        options.deadAfter = .seconds(30)
        options.pendingLease = .seconds(120)
        options.clock = clock.clock
        configure(&options)
        return MetaService(store: try await kind.makeStore(), options: options)
    }

    func register(_ node: NodeID, with service: MetaService) async throws {
        _ = try await service.register(
            RegisterNode(nodeID: node, host: "127.0.0.1", port: 7001, capacityBytes: 1 << 30, usedBytes: 0, blockCount: 0),
            peer: Endpoint(host: "127.0.0.1", port: 50_000))
    }

    @Test(arguments: StoreKind.allCases) func aNodeIsDeadOnceItsHeartbeatsStopForDeadAfterAndLiveAgainAtItsNext(kind: StoreKind) async throws {
        let service = try await makeService(kind)
        try await register(node, with: service)
        #expect(try await service.liveNodeCount() == 1)
        clock.advance(by: .seconds(30))
        #expect(try await service.liveNodeCount() == 1)
        clock.advance(by: .milliseconds(1))
        #expect(try await service.liveNodeCount() == 0)
        let reply = try await service.heartbeat(Heartbeat(nodeID: node, capacityBytes: 1 << 30, usedBytes: 0, blockCount: 0))
        #expect(!reply.registerAgain)
        #expect(try await service.liveNodeCount() == 1)
    }

    /// Until dead-after has passed since the start, nodes may not have spoken yet: nothing
    /// is repaired.
    @Test(arguments: StoreKind.allCases) func repairWaitsForDeadAfterSinceTheStart(kind: StoreKind) async throws {
        let service = try await makeService(kind)
        #expect(await service.isRepairing == false)
        clock.advance(by: .seconds(29))
        #expect(await service.isRepairing == false)
        clock.advance(by: .seconds(1))
        #expect(await service.isRepairing == true)
    }

    @Test(arguments: StoreKind.allCases) func aPendingFileIsAbandonedOnceItsLeaseRunsOutAndARenewalRestartsIt(kind: StoreKind) async throws {
        let service = try await makeService(kind)
        clock.advance(by: .seconds(200))
        let fileID = try await service.store.createFile(
            path: try DFSPath("/pending"), replication: 1, blockBytes: 4096, overwrite: false, now: clock.now)
        clock.advance(by: .seconds(100))
        let renewed = try await service.renewLeases(RenewLeases(fileIDs: [fileID]))
        #expect(renewed.unknown.isEmpty)
        #expect(renewed.leaseMilliseconds == 120_000)
        clock.advance(by: .seconds(119))
        try await service.expirePendingFiles()
        #expect(try await service.pendingFileCount() == 1)
        clock.advance(by: .seconds(2))
        try await service.expirePendingFiles()
        #expect(try await service.pendingFileCount() == 0)
    }

    /// After a restart, writers could not renew while the server was down: a file whose
    /// lease ran out meanwhile gets a whole lease from the start before it is abandoned.
    @Test(arguments: StoreKind.allCases) func nothingExpiresWithinALeaseOfTheStart(kind: StoreKind) async throws {
        let service = try await makeService(kind)
        _ = try await service.store.createFile(
            path: try DFSPath("/old"), replication: 1, blockBytes: 4096, overwrite: false, now: clock.now - 1000)
        try await service.expirePendingFiles()
        clock.advance(by: .seconds(119))
        try await service.expirePendingFiles()
        #expect(try await service.pendingFileCount() == 1)
        clock.advance(by: .seconds(1))
        try await service.expirePendingFiles()
        #expect(try await service.pendingFileCount() == 0)
    }
}
