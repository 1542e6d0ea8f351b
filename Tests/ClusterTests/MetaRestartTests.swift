import DFSClient
import DFSCore
import DFSTesting
import Foundation
import Testing

/// Clients ride out a restart of the meta server: what is under way waits and goes on where
/// it was; what fails for good fails at once.
@Suite struct MetaRestartTests {
    static let blockBytes = 64 * 1024

    /// A large upload and a tree copy (batches of small files, and larger files one by one)
    /// are under way when the meta server stops for a few seconds and starts again on the
    /// same database and port. Both finish, each file is copied once (the tree copy goes on
    /// where it was instead of starting over), and everything reads back byte for byte.
    @Test func anUploadAndATreeCopyUnderWayRideOutAMetaServerRestart() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let big = try local.writeRandomFile("big", count: 24 * 1024 * 1024 + 321, seed: 1301)
        var tree: [String: [UInt8]] = [:]
        for folder in 0..<4 {
            try FileManager.default.createDirectory(at: local.url.appendingPathComponent("tree/d\(folder)"), withIntermediateDirectories: true)
        }
        for index in 0..<1500 {
            let name = "d\(index % 4)/s\(index)"
            tree[name] = try local.writeRandomFile("tree/" + name, count: 50 + index * 3 % 4000, seed: UInt64(20_000 + index))
        }
        for index in 0..<12 {
            let name = "d\(index % 4)/large\(index)"
            tree[name] = try local.writeRandomFile("tree/" + name, count: 300_000 + index, seed: UInt64(30_000 + index))
        }

        try await withCluster(dataNodes: 3, configure: { $0.pendingLease = .seconds(3) }) { cluster in
            let uploaderNotices = Mutex(0)
            let copierNotices = Mutex(0)
            let uploaded = Mutex(0)
            let copied = Mutex<[String]>([])
            let uploader = DFSClient(
                meta: cluster.metaEndpoint, progress: { bytes in uploaded.withLock { $0 += bytes } },
                onRetry: { _ in uploaderNotices.withLock { $0 += 1 } })
            let copier = DFSClient(meta: cluster.metaEndpoint, onRetry: { _ in copierNotices.withLock { $0 += 1 } })
            defer {
                Task {
                    await uploader.close()
                    await copier.close()
                }
            }
            var events = TreeCopyEvents()
            events.copied = { source, _ in copied.withLock { $0.append(source) } }
            let options = UploadOptions(blockBytes: Self.blockBytes)
            let upload = Task { try await uploader.upload(localPath: local.path("big"), to: try DFSPath("/big"), options: options) }
            let copy = Task {
                try await copier.uploadTree(localFolder: local.path("tree"), to: try DFSPath("/tree"), options: options, events: events)
            }

            try await eventually(timeout: .seconds(60), "both transfers under way") {
                uploaded.withLock { $0 } >= 512 * 1024 && !copied.withLock { $0.isEmpty }
            }
            await cluster.stopMeta()
            #expect(uploaded.withLock { $0 } < big.count, "the upload was still going when the meta server stopped")
            #expect(copied.withLock { $0.count } < tree.count, "the tree copy was still going when the meta server stopped")
            // The outage: the clients find the meta server gone, then refusing connections.
            try await Task.sleep(for: .seconds(3))
            try await cluster.startMeta()

            let info = try await upload.value
            #expect(info.size == big.count)
            let result = try await copy.value
            #expect(result.files == tree.count)
            #expect(result.skipped == 0)
            let sources = copied.withLock { $0 }
            #expect(sources.count == tree.count && Set(sources).count == tree.count, "each file copied exactly once")
            #expect(uploaderNotices.withLock { $0 } > 0, "the upload waited for the meta server")
            #expect(copierNotices.withLock { $0 } > 0, "the tree copy waited for the meta server")
            // A create whose reply the stop cut off made pending files nobody knows of: the
            // lease drops them, as it drops the files of a client that died.
            try await eventually(timeout: .seconds(30), "pending files that nobody renews are dropped") {
                try await cluster.meta.service.pendingFileCount() == 0
            }

            try await cluster.client.download(try DFSPath("/big"), to: local.path("big.back"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("big.back")))) == big)
            try await cluster.client.downloadTree(try DFSPath("/tree"), to: local.path("back"))
            for (name, bytes) in tree {
                let back = try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back/" + name))))
                #expect(back == bytes, "\(name)")
            }
        }
    }

    /// With `retryFor` zero a client gives up at once during an outage; with the default it
    /// waits, tells its caller it is waiting, and succeeds once the meta server is back.
    @Test func duringAnOutageRetryForZeroFailsAtOnceAndTheDefaultWaits() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            await cluster.stopMeta()
            let impatient = DFSClient(meta: cluster.metaEndpoint, retryFor: .zero)
            let started = ContinuousClock.now
            let error = await #expect(throws: DFSError.self) { _ = try await impatient.list(.root) }
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("connection refused") == true, "\(error?.message ?? "")")
            await impatient.close()

            let notices = Mutex<[RetryNotice]>([])
            let patient = DFSClient(meta: cluster.metaEndpoint, onRetry: { notice in notices.withLock { $0.append(notice) } })
            let work = Task {
                try await patient.makeDirectory(try DFSPath("/waited"))
                return try await patient.list(.root)
            }
            try await eventually("the client waits for the meta server") { notices.withLock { !$0.isEmpty } }
            try await cluster.startMeta()
            let listing = try await work.value
            #expect(listing.entries.map(\.path.name) == ["waited"])
            let first = try #require(notices.withLock { $0.first })
            #expect(first.error.code == .connectionFailed)
            #expect(first.what == "makeDirectory")
            #expect(first.remaining > .seconds(50) && first.remaining <= RetryPolicy.standardRetryFor)
            await patient.close()
        }
    }

    /// An error another try would not change fails at once, even with time to retry.
    @Test func definitiveErrorsAreNotRetried() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 1000, seed: 1302)
        try await withCluster(dataNodes: 1) { cluster in
            let notices = Mutex(0)
            let client = DFSClient(meta: cluster.metaEndpoint, retryFor: .seconds(60), onRetry: { _ in notices.withLock { $0 += 1 } })
            defer { Task { await client.close() } }
            let started = ContinuousClock.now
            let missing = await #expect(throws: DFSError.self) { _ = try await client.stat(try DFSPath("/missing")) }
            #expect(missing?.code == .notFound)
            let download = await #expect(throws: DFSError.self) { try await client.download(try DFSPath("/missing"), to: local.path("out")) }
            #expect(download?.code == .notFound)
            try await client.upload(localPath: local.path("f"), to: try DFSPath("/f"), options: UploadOptions(replication: 1))
            let exists = await #expect(throws: DFSError.self) {
                try await client.upload(localPath: local.path("f"), to: try DFSPath("/f"), options: UploadOptions(replication: 1, overwrite: false))
            }
            #expect(exists?.code == .alreadyExists)
            let underFile = await #expect(throws: DFSError.self) { try await client.makeDirectory(try DFSPath("/f/sub")) }
            #expect(underFile?.code == .notADirectory)
            let removeMissing = await #expect(throws: DFSError.self) { try await client.remove(try DFSPath("/nothing"), recursive: false) }
            #expect(removeMissing?.code == .notFound, "a first try's notFound is not mistaken for a lost reply")
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(notices.withLock { $0 } == 0)
        }
    }

    /// Right after a restart the meta server has not heard from any data node; asked to
    /// place a block then, it waits for their first heartbeats instead of refusing. The
    /// client here does not retry, so only the server's wait can make this work.
    @Test func placementRightAfterARestartWaitsForTheFirstHeartbeats() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 70_000, seed: 1303)
        try await withCluster(
            dataNodes: 3, configure: { $0.firstHeartbeatsWait = .seconds(8) },
            configureData: { $0.retryInterval = .seconds(2) }
        ) { cluster in
            await cluster.stopMeta()
            // Long enough for every node to find the meta server gone: each then tries again
            // every 2 s, so none is back the moment it restarts.
            try await Task.sleep(for: .milliseconds(500))
            try await cluster.startMeta()
            let impatient = DFSClient(meta: cluster.metaEndpoint, retryFor: .zero)
            defer { Task { await impatient.close() } }
            let path = try DFSPath("/right-after")
            let info = try await impatient.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 3))
            #expect(info.size == original.count)
            let blocks = try await impatient.stat(path).blocks
            #expect(blocks.allSatisfy { $0.replicas.count == 3 }, "it waited until every known node was back")
            try await impatient.download(path, to: local.path("back"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == original)
        }
    }

    /// With no data node ever registered there is nothing to wait for: the refusal comes at
    /// once and says to start one.
    /// A download that finds no replica reachable (its node restarting, at a new port the
    /// meta server learns when it registers again) is tried again with fresh locations and
    /// succeeds; it used to fail at once with "cannot read block".
    @Test func aDownloadWhoseNodesAreRestartingWaitsForThem() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 200_000, seed: 1601)
        try await withCluster(dataNodes: 1) { cluster in
            let path = try DFSPath("/f")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 1))
            await cluster.stopDataNode(0)
            let restart = Task {
                try await Task.sleep(for: .seconds(1))
                try await cluster.addDataNode(index: 0)
            }
            try await cluster.client.download(path, to: local.path("back"))
            _ = try await restart.value
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == original)
        }
    }

    @Test func aClusterWithoutDataNodesRefusesAtOnce() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 10, seed: 1304)
        try await withCluster(dataNodes: 0) { cluster in
            let started = ContinuousClock.now
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/f"))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.transient == nil)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }
}

/// A request whose reply is lost after it took effect is sent again; the second try must
/// not turn a success into a failure, nor make a second copy.
@Suite struct LostReplyTests {
    /// The replies to the first `completeFile` and the first `completeFiles` are lost: the
    /// client's next try finds no pending file, sees that the path holds exactly its upload
    /// (same size, same block ids) and counts it as done.
    @Test func aCompletionWhoseReplyWasLostCountsAsDone() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let single = try local.writeRandomFile("single", count: 200_000, seed: 1501)
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var small: [[UInt8]] = []
        for index in 0..<5 { small.append(try local.writeRandomFile("tree/f\(index)", count: 100 + index, seed: UInt64(1510 + index))) }
        try await withCluster(dataNodes: 2) { cluster in
            let proxy = try await LossyProxy(meta: cluster.metaEndpoint, dropping: [.completeFile, .completeFiles])
            let client = DFSClient(meta: proxy.endpoint)
            do {
                let info = try await client.upload(
                    localPath: local.path("single"), to: try DFSPath("/single"), options: UploadOptions(blockBytes: 65536, replication: 2))
                #expect(info.size == single.count)
                let result = try await client.uploadTree(localFolder: tree.path, to: try DFSPath("/tree"), options: UploadOptions(replication: 2))
                #expect(result.files == 5)
                #expect(proxy.dropped.withLock { $0 }.sorted() == ["completeFile", "completeFiles"])
                #expect(try await cluster.meta.service.pendingFileCount() == 0)
                try await cluster.client.download(try DFSPath("/single"), to: local.path("single.back"))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("single.back")))) == single)
                for (index, bytes) in small.enumerated() {
                    try await cluster.client.download(try DFSPath("/tree/f\(index)"), to: local.path("back\(index)"))
                    #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back\(index)")))) == bytes)
                }
            } catch {
                await client.close()
                await proxy.stop()
                throw error
            }
            await client.close()
            await proxy.stop()
        }
    }

    /// The reply to `remove` and to `move` is lost; the retry finds the work done.
    @Test func aRemoveOrMoveWhoseReplyWasLostCountsAsDone() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            try await cluster.client.makeDirectory(try DFSPath("/gone"))
            try await cluster.client.makeDirectory(try DFSPath("/from"))
            let proxy = try await LossyProxy(meta: cluster.metaEndpoint, dropping: [.remove, .move])
            let client = DFSClient(meta: proxy.endpoint)
            do {
                try await client.remove(try DFSPath("/gone"), recursive: false)
                try await client.move(try DFSPath("/from"), to: try DFSPath("/to"))
                #expect(proxy.dropped.withLock { $0 }.sorted() == ["move", "remove"])
                #expect(try await cluster.client.list(.root).entries.map(\.path.name) == ["to"])
            } catch {
                await client.close()
                await proxy.stop()
                throw error
            }
            await client.close()
            await proxy.stop()
        }
    }
}
