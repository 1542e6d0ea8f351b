import DFSClient
import DFSCore
import DFSPostgres
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// The database machine fails under a running cluster: the PostgreSQL primary is killed and,
/// a little later, its synchronous standby promoted, as Patroni or an operator would do. The
/// meta server names both in a multi-host URI (`target_session_attrs=read-write`), so its
/// next connection finds the new primary. Uploads wait out the gap, and nothing the meta
/// server acknowledged is lost.
@Suite(.serialized) struct PostgresPromotionTests {
    /// A prompt promotion: the lease (7 s, 70% of the default `--failover-after`) outlasts
    /// the gap, so the meta server keeps it and serves on at once.
    @Test func uploadsRideOutAPromotionWithinTheLease() async throws {
        let lease = try await Self.promoteUnderUploads(failoverAfter: .seconds(10), gap: .seconds(2))
        #expect(lease.after.token == lease.before.token, "the meta server lost its lease during a promotion shorter than the lease")
        #expect(lease.after.holder == lease.before.holder)
    }

    /// A slow promotion: the meta server cannot renew its lease in time, stops serving
    /// (standby), and takes the lease again, with a new token, once the new primary takes
    /// writes.
    @Test func uploadsRideOutAPromotionLongerThanTheLease() async throws {
        let lease = try await Self.promoteUnderUploads(failoverAfter: .seconds(3), gap: .seconds(4))
        #expect(lease.after.token > lease.before.token)
    }

    typealias Lease = (token: Int64, holder: String)

    /// The meta lease's token and holder, as the database at `uri` has them.
    static func lease(_ uri: String) async throws -> Lease {
        try await BlockingIO.run {
            let connection = try PostgresConnection(uri: uri)
            defer { connection.close() }
            let row = try #require(try connection.query("SELECT token, holder FROM dfs_meta_lease WHERE id = 0").first)
            return (try row.int64(0), try row.text(1))
        }
    }

    /// A primary with a synchronous standby, a meta server on both and three data nodes;
    /// uploads run while the primary is killed and the standby promoted `gap` later. Checks
    /// that uploads resume, that every acknowledged file reads back and that fsck turns
    /// healthy; returns the lease before the kill and after the promotion.
    static func promoteUnderUploads(failoverAfter: Duration, gap: Duration) async throws -> (before: Lease, after: Lease) {
        // Without PostgreSQL's programs, starting the server fails and says to install them.
        return try await PostgresTestServer.with { primary in
            try await primary.withStandby(synchronous: true) { standby in
                try await promoteUnderUploads(primary: primary, standby: standby, failoverAfter: failoverAfter, gap: gap)
            }
        }
    }

    static func promoteUnderUploads(
        primary: PostgresTestServer, standby: PostgresTestServer, failoverAfter: Duration, gap: Duration
    ) async throws -> (before: Lease, after: Lease) {
        let (user, database) = (PostgresTestServer.userName, PostgresTestServer.databaseName)
        let uri = "postgres://\(user)@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/\(database)?target_session_attrs=read-write"
        let folder = try TempFolder()
        var keepFolder = true
        defer {
            if keepFolder { print("cluster folder kept for inspection: \(folder.url.path)") } else { folder.remove() }
        }
        var processes: [ServerProcess] = []
        defer { processes.forEach { $0.kill() } }

        let meta = try await ServerProcess(
            [
                "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", uri, "--failover-after", "\(failoverAfter.inSeconds)s",
                "--heartbeat", "500ms",
            ], errorPath: folder.path("meta.log"))
        processes.append(meta)
        for index in 0..<3 {
            processes.append(
                try await ServerProcess(
                    ["serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", folder.path("data\(index)")],
                    errorPath: folder.path("data\(index).log")))
        }
        let client = DFSClient(metaServers: [meta.endpoint], retryFor: .seconds(60))
        defer { Task { await client.close() } }
        try await eventually(timeout: .seconds(20), "three nodes are alive") {
            (try? await client.status().nodes.filter(\.alive).count) == 3
        }

        // Four local files, uploaded over and over under new names until cancelled; an upload
        // that gives up ends the loop and fails the test.
        let contents = try (0..<4).map { try folder.writeRandomFile("local\($0)", count: 40_000 + $0 * 90_001, seed: UInt64($0) + 11) }
        let acknowledged = Mutex<[(path: DFSPath, source: Int, at: ContinuousClock.Instant)]>([])
        let failure = Mutex<(any Error)?>(nil)
        let uploads = Task {
            var number = 0
            while !Task.isCancelled {
                let source = number % contents.count
                let path = try DFSPath("/uploads/f\(number)")
                do {
                    _ = try await client.upload(localPath: folder.path("local\(source)"), to: path, options: UploadOptions(replication: 3))
                } catch {
                    if !Task.isCancelled { failure.withLock { $0 = error } }
                    return
                }
                acknowledged.withLock { $0.append((path, source, .now)) }
                number += 1
            }
        }
        defer { uploads.cancel() }
        func acknowledgedCount() throws -> Int {
            if let error = failure.withLock({ $0 }) { throw error }
            return acknowledged.withLock { $0.count }
        }
        try await eventually(timeout: .seconds(30), "10 uploads are acknowledged") { try acknowledgedCount() >= 10 }
        let before = try await lease(primary.uri)

        // The primary's machine dies. The standby has every committed transaction; it becomes
        // the primary once someone notices.
        await primary.kill()
        let killedAt = ContinuousClock.now
        let countAtKill = try acknowledgedCount()
        try await Task.sleep(for: gap)
        try await standby.promote()
        let promoted = ContinuousClock.now - killedAt
        try await eventually(timeout: .seconds(60), "uploads resume on the promoted standby") { try acknowledgedCount() >= countAtKill + 10 }
        uploads.cancel()
        _ = await uploads.result
        let resumed = acknowledged.withLock { $0[countAtKill].at } - killedAt
        print("promotion: the standby took writes \(promoted) after the primary was killed; the first upload after it was acknowledged after \(resumed)")

        let after = try await lease(standby.uri)
        let status = try await client.status()
        #expect(status.metaServers?.filter(\.active).map(\.address) == [meta.endpoint.description])

        // Every acknowledged file reads back as it was written, and the cluster is whole.
        try await MetaFailoverTests.expectReadBackAndHealthy(
            acknowledged.withLock { $0.map { ($0.path, contents[$0.source]) } }, client: client, folder: folder)
        keepFolder = false
        return (before, after)
    }
}
