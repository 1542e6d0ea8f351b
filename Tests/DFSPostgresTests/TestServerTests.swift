import DFSCore
import DFSPostgres
import DFSTesting
import Foundation
import Testing

extension PostgresTests {
    /// The throwaway server itself: a crash and a restart keep committed data, and a stop
    /// leaves no process and no folder behind.
    @Suite struct TestServerTests {
        @Test func stopRemovesFolderAndProcesses() async throws {
            let server = try await PostgresTestServer.start()
            let processes = server.runningProcesses
            #expect(!processes.isEmpty)
            await server.stop()
            #expect(!FileManager.default.fileExists(atPath: server.folder))
            #expect(!processes.contains(where: ProcessTable.isAlive))
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let leftovers = names.compactMap { Int32($0) }.filter { ProcessTable.isAlive($0) && ProcessTable.commandLine(of: $0).contains(server.folder) }
            #expect(leftovers.isEmpty)
        }

        @Test func killAndRestartKeepCommittedRows() async throws {
            try await PostgresTestServer.with { server in
                let pool = try PostgresPool(uri: server.uri)
                try await pool.execute("CREATE TABLE kept (id bigint); INSERT INTO kept VALUES (42)")
                await server.kill()
                #expect(server.runningProcesses.isEmpty)
                let refused = await dfsError { _ = try await PostgresConnection.connect(uri: server.uri) }
                #expect(refused?.code == .connectionFailed)
                try await server.restart()
                // The pool's old connection is gone with the server; it opens a new one.
                let rows = try await pool.query("SELECT id FROM kept")
                #expect(try rows.map { try $0.int64(0) } == [42])
                await pool.close()
            }
        }
    }
}
