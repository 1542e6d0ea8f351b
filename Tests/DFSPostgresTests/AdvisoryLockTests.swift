import DFSCore
import DFSPostgres
import DFSTesting
import Testing

extension PostgresTests {
    /// Session advisory locks: one holder at a time, released by unlock, by close, and by a
    /// lost connection, which the holder then hears about.
    @Suite struct AdvisoryLockTests {
        private func session() async throws -> PostgresSession {
            try await PostgresSession.connect(uri: try sharedServer().uri)
        }

        @Test func lockIsExclusiveAndReleasedWhenItsConnectionCloses() async throws {
            let key = uniqueKey()
            let holder = try await session()
            let other = try await session()
            #expect(try await holder.tryAdvisoryLock(key))
            #expect(try await !other.tryAdvisoryLock(key))
            let holders = try await other.run { connection in
                try connection.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted").map { try $0.int64(0) }
            }
            #expect(holders.contains(Int64(holder.backendPID)))
            await holder.close()
            // The server ends the session a moment after the client hangs up.
            try await eventually("lock free after its holder closed") { try await other.tryAdvisoryLock(key) }
            await other.close()
        }

        @Test func unlockReleasesOnceForEachLock() async throws {
            let key = uniqueKey()
            let holder = try await session()
            let other = try await session()
            #expect(try await holder.tryAdvisoryLock(key))
            #expect(try await holder.tryAdvisoryLock(key))
            #expect(try await holder.advisoryUnlock(key))
            #expect(try await !other.tryAdvisoryLock(key))
            #expect(try await holder.advisoryUnlock(key))
            #expect(try await !holder.advisoryUnlock(key))
            #expect(try await other.tryAdvisoryLock(key))
            await holder.close()
            await other.close()
        }

        @Test func aLostSessionSaysItsLocksAreGone() async throws {
            let key = uniqueKey()
            let holder = try await session()
            #expect(try await holder.tryAdvisoryLock(key))
            try await terminateBackend(holder.backendPID)
            let error = await dfsError { _ = try await holder.tryAdvisoryLock(key) }
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("advisory locks") == true)
            // It stays lost: no new connection pretends to be the same session.
            let again = await dfsError { _ = try await holder.tryAdvisoryLock(key) }
            #expect(again?.code == .connectionFailed)
            let other = try await session()
            #expect(try await other.tryAdvisoryLock(key))
            await other.close()
            await holder.close()
        }
    }
}
