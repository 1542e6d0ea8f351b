import DFSClient
import DFSCore
import DFSNet
import DFSPostgres
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// Meta servers sharing one PostgreSQL database, as processes: one is active, the other
/// stands by; the standby takes over when the active one is killed or stopped past its
/// lease, and a deposed server acknowledges nothing.
@Suite(.serialized) struct MetaFailoverTests {
    static let failoverAfter = Duration.seconds(3)

    /// `dfs serve-meta` on `uri`, on loopback and a port of its own.
    static func startMeta(_ uri: String, folder: TempFolder, name: String) async throws -> ServerProcess {
        try await ServerProcess(
            [
                "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", uri, "--failover-after", "\(failoverAfter.inSeconds)s",
                "--heartbeat", "500ms",
            ], errorPath: folder.path("\(name).log"))
    }

    /// Asks `endpoint` alone for the status: the reply when it is the active server, the
    /// error (`notActive` from a standby) when not.
    static func askStatus(_ endpoint: Endpoint) async -> Result<StatusOK, DFSError> {
        let pool = ConnectionPool(role: .client)
        defer { Task { await pool.closeAll() } }
        do {
            return .success(try await pool.request(StatusRequest(), to: endpoint, expecting: StatusOK.self))
        } catch {
            return .failure(DFSError.wrap(error))
        }
    }

    static func isActive(_ endpoint: Endpoint) async -> Bool {
        if case .success = await askStatus(endpoint) { return true }
        return false
    }

    static func isStandby(_ endpoint: Endpoint, naming active: Endpoint?) async -> Bool {
        guard case .failure(let error) = await askStatus(endpoint), error.code == .notActive else { return false }
        return active == nil || error.active == active
    }

    /// Each file reads back through `client` with its bytes, and fsck ends healthy.
    static func expectReadBackAndHealthy(_ files: [(path: DFSPath, bytes: [UInt8])], client: DFSClient, folder: TempFolder) async throws {
        for (path, bytes) in files {
            let out = folder.path("out")
            FileSystem.removeQuietly(out)
            _ = try await client.download(path, to: out)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: out))) == bytes, "\(path)")
        }
        try await eventually(timeout: .seconds(30), "fsck is healthy") { (try? await client.fsck().healthy) == true }
    }

    /// Two meta servers on `uri`: the first started and active, then the second started and
    /// standing by, naming it. The caller kills both.
    static func startActiveAndStandby(_ uri: String, folder: TempFolder) async throws -> (active: ServerProcess, standby: ServerProcess) {
        let first = try await startMeta(uri, folder: folder, name: "meta-a")
        do {
            try await eventually(timeout: .seconds(20), "the first meta server is active") { await isActive(first.endpoint) }
            let second = try await startMeta(uri, folder: folder, name: "meta-b")
            do {
                try await eventually(timeout: .seconds(20), "the second meta server stands by, naming the first") {
                    await isStandby(second.endpoint, naming: first.endpoint)
                }
                return (first, second)
            } catch {
                second.kill()
                throw error
            }
        } catch {
            first.kill()
            throw error
        }
    }

    @Test func uploadsRideOutTheActiveServerKilledAndTheOldOneComesBackAsAStandby() async throws {
        guard PostgresTestServer.isInstalled else {
            Issue.record("PostgreSQL is not installed: run make deps")
            return
        }
        let uri = try await PostgresTestServer.freshDatabase()
        let folder = try TempFolder()
        defer { folder.remove() }
        var processes: [ServerProcess] = []
        defer { processes.forEach { $0.kill() } }

        let (first, second) = try await Self.startActiveAndStandby(uri, folder: folder)
        processes += [first, second]
        let metaList = Endpoint.listDescription([first.endpoint, second.endpoint])
        for index in 0..<3 {
            processes.append(
                try await ServerProcess(
                    ["serve-data", "--listen", "127.0.0.1:0", "--meta", metaList, "--dir", folder.path("data\(index)")],
                    errorPath: folder.path("data\(index).log")))
        }
        let client = DFSClient(metaServers: [first.endpoint, second.endpoint], retryFor: .seconds(60))
        defer { Task { await client.close() } }
        try await eventually(timeout: .seconds(20), "three nodes are alive") {
            (try? await client.status().nodes.filter(\.alive).count) == 3
        }

        // Four local files, uploaded over and over under new names.
        let contents = try (0..<4).map { try folder.writeRandomFile("local\($0)", count: 50_000 + $0 * 70_001, seed: UInt64($0) + 1) }
        let acknowledged = Mutex<[(path: DFSPath, source: Int, at: ContinuousClock.Instant)]>([])
        let uploads = Task {
            var number = 0
            while !Task.isCancelled {
                let source = number % contents.count
                let path = try DFSPath("/uploads/f\(number)")
                _ = try await client.upload(localPath: folder.path("local\(source)"), to: path, options: UploadOptions(replication: 3))
                acknowledged.withLock { $0.append((path, source, .now)) }
                number += 1
            }
        }
        try await eventually(timeout: .seconds(60), "20 uploads are acknowledged") { acknowledged.withLock { $0.count } >= 20 }

        first.kill()
        let killedAt = ContinuousClock.now
        let countAtKill = acknowledged.withLock { $0.count }
        try await eventually(timeout: Self.failoverAfter * 3 + .seconds(10), "the standby takes over") { await Self.isActive(second.endpoint) }
        let tookOver = ContinuousClock.now - killedAt
        try await eventually(timeout: .seconds(60), "uploads resume through the new active server") {
            acknowledged.withLock { $0.count } >= countAtKill + 20
        }
        let resumed = acknowledged.withLock { $0[countAtKill].at } - killedAt
        uploads.cancel()
        _ = await uploads.result
        print("failover: the standby took over \(tookOver) after the kill; the first upload after it was acknowledged after \(resumed)")
        // The lease runs out 70% of --failover-after after its last renewal, and standbys look
        // every 5% of it: the takeover is within the failover time, with room for a busy machine.
        #expect(tookOver < Self.failoverAfter * 2 + .seconds(3))

        // Every acknowledged file reads back as it was written.
        try await Self.expectReadBackAndHealthy(acknowledged.withLock { $0.map { ($0.path, contents[$0.source]) } }, client: client, folder: folder)

        // The killed server, started again, stands by, and status lists both servers.
        let restarted = try await Self.startMeta(uri, folder: folder, name: "meta-a2")
        processes.append(restarted)
        try await eventually(timeout: .seconds(20), "the restarted server stands by") {
            await Self.isStandby(restarted.endpoint, naming: second.endpoint)
        }
        let status = try await client.status()
        let servers = try #require(status.metaServers)
        #expect(servers.filter(\.active).map(\.address) == [second.endpoint.description])
        #expect(Set(servers.map(\.address)).isSuperset(of: [second.endpoint.description, restarted.endpoint.description]))
    }

    @Test func aServerStoppedPastItsLeaseAcknowledgesNothingWhenItWakes() async throws {
        guard PostgresTestServer.isInstalled else {
            Issue.record("PostgreSQL is not installed: run make deps")
            return
        }
        let uri = try await PostgresTestServer.freshDatabase()
        let folder = try TempFolder()
        defer { folder.remove() }
        let (first, second) = try await Self.startActiveAndStandby(uri, folder: folder)
        defer {
            first.kill()
            second.kill()
        }
        let pool = ConnectionPool(role: .client)
        defer { Task { await pool.closeAll() } }
        // The first server answers while it is active.
        _ = try await pool.request(
            CreateFile(path: try DFSPath("/before"), replication: 1, blockBytes: 1 << 20, overwrite: false), to: first.endpoint,
            expecting: CreateFileOK.self)

        // Stopped (as a machine that hangs or is cut off), it cannot renew its lease: the
        // standby takes over once the lease has run out.
        kill(first.processIdentifier, SIGSTOP)
        try await eventually(timeout: Self.failoverAfter * 3 + .seconds(10), "the standby takes over") { await Self.isActive(second.endpoint) }
        // A request waits in the stopped server's socket; when it wakes, it must refuse it.
        let request = Task {
            try await pool.request(
                CreateFile(path: try DFSPath("/deposed"), replication: 1, blockBytes: 1 << 20, overwrite: false), to: first.endpoint,
                expecting: CreateFileOK.self, resendOnStale: false)
        }
        try await Task.sleep(for: .milliseconds(200))
        kill(first.processIdentifier, SIGCONT)
        let outcome = await request.result
        switch outcome {
        case .success: Issue.record("the deposed server acknowledged a file after it lost its lease")
        case .failure(let error): #expect(DFSError.wrap(error).code == .notActive, "\(error)")
        }
        // Nothing of it reached the database, and the woken server stands by.
        let rows = try await BlockingIO.run {
            let connection = try PostgresConnection(uri: uri)
            defer { connection.close() }
            return try connection.query("SELECT path FROM files ORDER BY path").map { try $0.text(0) }
        }
        #expect(rows == ["/before"])
        try await eventually(timeout: .seconds(20), "the woken server stands by") {
            await Self.isStandby(first.endpoint, naming: second.endpoint)
        }
        _ = try await pool.request(
            CreateFile(path: try DFSPath("/after"), replication: 1, blockBytes: 1 << 20, overwrite: false), to: second.endpoint,
            expecting: CreateFileOK.self)
    }

    @Test func statusListsTheMetaServersAndMetaBackupPointsToPostgresTools() async throws {
        guard PostgresTestServer.isInstalled else {
            Issue.record("PostgreSQL is not installed: run make deps")
            return
        }
        let uri = try await PostgresTestServer.freshDatabase()
        let folder = try TempFolder()
        defer { folder.remove() }
        let (first, second) = try await Self.startActiveAndStandby(uri, folder: folder)
        defer {
            first.kill()
            second.kill()
        }
        let list = Endpoint.listDescription([second.endpoint, first.endpoint])
        // Asked through the standby first, status finds the active server and lists both.
        try await eventually(timeout: .seconds(20), "status lists both meta servers") {
            let status = try await DFSBinary.run(["status", list])
            return status.status == 0 && status.standardOutput.contains("\(first.endpoint) active")
                && status.standardOutput.contains("\(second.endpoint) standby")
        }
        let json = try await DFSBinary.run(["status", "--json", list])
        #expect(json.status == 0)
        #expect(json.standardOutput.contains("\"metaServers\""))
        // A backup of a namespace in PostgreSQL is PostgreSQL's own business.
        let backup = try await DFSBinary.run(["meta-backup", list, folder.path("copy.db")])
        #expect(backup.status != 0)
        #expect(backup.standardError.contains("pg_dump"), "\(backup.standardError)")
        #expect(!FileSystem.exists(folder.path("copy.db")))
    }
}

/// `serve-meta --db` takes its PostgreSQL password where libpq looks for one.
@Suite(.serialized) struct MetaPostgresPasswordTests {
    @Test func thePasswordComesFromPGPASSWORDOrAPasswordFile() async throws {
        guard PostgresTestServer.isInstalled else {
            Issue.record("PostgreSQL is not installed: run make deps")
            return
        }
        let password = "s3cret-\(UInt32.random(in: 0...UInt32.max))"
        let uri = try await PostgresTestServer.passwordProtectedDatabase(password: password)
        let folder = try TempFolder()
        defer { folder.remove() }
        let arguments = ["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", uri]

        // Without it: a clear error, and the password-less URI in it.
        let refused = try await DFSBinary.run(arguments, timeout: .seconds(30), environment: ["PGPASSFILE": folder.path("none")])
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("password"), "\(refused.standardError)")

        let fromEnvironment = try await ServerProcess(arguments, environment: ["PGPASSWORD": password], errorPath: folder.path("a.log"))
        defer { fromEnvironment.kill() }
        try await eventually(timeout: .seconds(20), "it serves with PGPASSWORD") { await MetaFailoverTests.isActive(fromEnvironment.endpoint) }

        // A password file (~/.pgpass, or PGPASSFILE), readable by its owner only, as libpq wants.
        let passFile = folder.path("pgpass")
        let port = URLComponents(string: uri)!.port!
        try Data("127.0.0.1:\(port):*:*:\(password)\n".utf8).write(to: URL(fileURLWithPath: passFile))
        chmod(passFile, 0o600)
        let fromFile = try await ServerProcess(arguments, environment: ["PGPASSFILE": passFile], errorPath: folder.path("b.log"))
        defer { fromFile.kill() }
        try await eventually(timeout: .seconds(20), "it stands by with a password file") {
            await MetaFailoverTests.isStandby(fromFile.endpoint, naming: fromEnvironment.endpoint)
        }
    }
}
