import DFSClient
import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// Pending files live while their writer renews them, and give their space back soon after
/// it stops; a writer that fails abandons what it created as soon as the meta server answers.
@Suite struct LeaseTests {
    /// A writer renews its pending file through three lease periods and the file lives;
    /// then it stops (as a dead client would), and within a lease or two the file is
    /// abandoned and its block deleted on the nodes that stored it.
    @Test func aPendingFileLivesWhileRenewedAndIsAbandonedWithItsBlocksSoonAfter() async throws {
        try await withCluster(dataNodes: 2, configure: { $0.pendingLease = .seconds(1) }) { cluster in
            let meta = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(20))
            defer { Task { await meta.close() } }
            let created = try await meta.request(
                CreateFile(path: try DFSPath("/left"), replication: 2, blockBytes: 65536, overwrite: true, allocateFirstBlock: true),
                expecting: CreateFileOK.self, timeout: .seconds(20))
            #expect(created.leaseMilliseconds == 1000)
            let block = try #require(created.firstBlock)
            let bytes = [UInt8](repeating: 7, count: 5000)
            let node = try await Connection.open(to: block.targets[0].address, role: .client, timeout: .seconds(20))
            defer { Task { await node.close() } }
            try await node.send(
                WriteBlock(blockID: block.blockID, length: bytes.count, pipeline: Array(block.targets.dropFirst()), token: block.token),
                timeout: .seconds(20))
            try await node.send(BlockData(checksums: BlockData.checksums(of: bytes)), payload: bytes, timeout: .seconds(20))
            let stored = try await node.readReply(WriteBlockOK.self, timeout: .seconds(20)).0
            #expect(stored.stored.count == 2)

            let renewedUntil = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < renewedUntil {
                let renewed = try await meta.request(
                    RenewLeases(fileIDs: [created.fileID, 987_654_321]), expecting: RenewLeasesOK.self, timeout: .seconds(20))
                #expect(renewed.unknown == [987_654_321])
                #expect(renewed.leaseMilliseconds == 1000)
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(try await cluster.meta.service.pendingFileCount() == 1, "renewed, it outlived three leases")

            try await eventually(timeout: .seconds(10), "the pending file is abandoned") {
                try await cluster.meta.service.pendingFileCount() == 0
            }
            try await eventually(timeout: .seconds(10), "its block is deleted on both nodes") {
                cluster.dataServers.compactMap { $0 }.allSatisfy { $0.store.length(of: block.blockID) == nil }
            }
            let gone = try await meta.request(RenewLeases(fileIDs: [created.fileID]), expecting: RenewLeasesOK.self, timeout: .seconds(20))
            #expect(gone.unknown == [created.fileID])
        }
    }

    /// The meta server refuses a renewal naming more files than one request may.
    @Test func aRenewalOfTooManyFilesIsRefused() async throws {
        try await withCluster(dataNodes: 0) { cluster in
            let meta = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(20))
            defer { Task { await meta.close() } }
            let result = try await meta.requestResult(
                RenewLeases(fileIDs: Array(1...Int64(Limits.leaseRenewalsMax + 1))), expecting: RenewLeasesOK.self, timeout: .seconds(20))
            guard case .failure(let error) = result else {
                Issue.record("a renewal of \(Limits.leaseRenewalsMax + 1) files was accepted")
                return
            }
            #expect(error.code == .tooLarge)
            let fine = try await meta.request(RenewLeases(fileIDs: []), expecting: RenewLeasesOK.self, timeout: .seconds(20))
            #expect(fine.unknown.isEmpty)
        }
    }

    /// An upload whose one block takes four lease periods to be acknowledged completes: the
    /// client renewed its lease meanwhile.
    @Test func aSlowUploadThatRenewsOutlivesSeveralLeases() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 5000, seed: 1401)
        try await withCluster(dataNodes: 0, configure: { $0.pendingLease = .seconds(1) }) { cluster in
            let slow = try await SlowDataNode.start(meta: cluster.metaEndpoint) { _ in
                try? await Task.sleep(for: .seconds(4))
                return nil
            }
            do {
                let started = ContinuousClock.now
                let path = try DFSPath("/slow")
                let info = try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 1))
                #expect(ContinuousClock.now - started >= .seconds(4))
                #expect(info.size == 5000)
                #expect(try await cluster.client.stat(path).blocks.first?.replicas.map(\.nodeID) == [slow.nodeID])
                #expect(await cluster.client.leaseRenewals >= 3)
                #expect(try await cluster.meta.service.pendingFileCount() == 0)
            } catch {
                await slow.stop()
                throw error
            }
            await slow.stop()
        }
    }

    /// An upload fails for good (its node refuses the block) while the meta server is down:
    /// the client abandons its pending file once the meta server is back, instead of
    /// leaving it, and its blocks, to the lease.
    @Test func aFailedUploadAbandonsItsPendingFileOnceTheMetaServerAnswers() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 3 * 65536, seed: 1402)
        try await Self.refusedWhileTheMetaServerIsAway(blocks: 3, pendingFiles: 1) { client in
            _ = try await client.upload(localPath: local.path("f"), to: try DFSPath("/refused"), options: UploadOptions(blockBytes: 65536, replication: 1))
        }
    }

    /// The same for a batch of small files of a tree copy.
    @Test func aFailedBatchAbandonsItsPendingFilesOnceTheMetaServerAnswers() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        for index in 0..<10 { try local.writeRandomFile("tree-\(index)", count: 1000 + index, seed: UInt64(1410 + index)) }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        for index in 0..<10 {
            try FileManager.default.moveItem(atPath: local.path("tree-\(index)"), toPath: tree.appendingPathComponent("f\(index)").path)
        }
        try await Self.refusedWhileTheMetaServerIsAway(blocks: 10, pendingFiles: 10) { client in
            _ = try await client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 1))
        }
    }

    /// Runs `write` against a cluster whose only node holds the `blocks` blocks it receives
    /// (of `pendingFiles` pending files) until the meta server is stopped, then refuses them; the meta server comes back 1.5 s
    /// later. The write fails with the node's refusal, and its pending files are abandoned
    /// once the meta server answers, not left to their lease.
    static func refusedWhileTheMetaServerIsAway(blocks: Int, pendingFiles: Int, _ write: @escaping @Sendable (DFSClient) async throws -> Void) async throws {
        try await withCluster(dataNodes: 0) { cluster in
            let gate = Gate()
            let slow = try await SlowDataNode.start(meta: cluster.metaEndpoint) { _ in
                await gate.wait()
                return DFSError(.invalidArgument, "this node takes no blocks today")
            }
            do {
                let client = DFSClient(meta: cluster.metaEndpoint, retryFor: .seconds(30))
                let running = Task { try await write(client) }
                try await eventually("the blocks reached the node") { slow.received.withLock { $0.count } == blocks }
                #expect(try await cluster.meta.service.pendingFileCount() == pendingFiles)
                await cluster.stopMeta()
                gate.open()
                // The write fails now, while the meta server is away.
                try await Task.sleep(for: .milliseconds(1500))
                try await cluster.startMeta()
                let error = await #expect(throws: DFSError.self) { try await running.value }
                #expect(error?.code == .invalidArgument)
                #expect(try await cluster.meta.service.pendingFileCount() == 0, "abandoned, not left to the lease")
                await client.close()
            } catch {
                await slow.stop()
                throw error
            }
            await slow.stop()
        }
    }
}
