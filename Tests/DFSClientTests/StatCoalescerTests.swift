import DFSCore
import Testing

@testable import DFSClient

/// Concurrent `stat` calls on one client sharing `getFiles` requests: who sends what, and
/// that every caller gets its own answer.
@Suite struct StatCoalescerTests {
    /// What the coalescer sent, and a gate that holds single requests until opened.
    final class Server: Sendable {
        private struct State {
            var single: [DFSPath] = []
            var many: [[DFSPath]] = []
            var open = true
            var held: [CheckedContinuation<Void, Never>] = []
        }
        private let state = Mutex(State())
        let missing: Set<DFSPath>
        let failMany: Bool

        init(missing: Set<DFSPath> = [], failMany: Bool = false) {
            self.missing = missing
            self.failMany = failMany
        }

        var single: [DFSPath] { state.withLock { $0.single } }
        var many: [[DFSPath]] { state.withLock { $0.many } }
        var heldCount: Int { state.withLock { $0.held.count } }

        func close() { state.withLock { $0.open = false } }
        func open() {
            let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.held = [] }
                return state.held
            }
            for continuation in held { continuation.resume() }
        }

        func answer(_ path: DFSPath) -> Result<GetFileOK, DFSError> {
            if missing.contains(path) { return .failure(DFSError(.notFound, "no such file or folder: \(path)")) }
            let info = FileInfo(path: path, type: .file, size: path.string.utf8.count, mtime: 1, replication: 1, blockBytes: 1024)
            return .success(GetFileOK(info: info, blocks: []))
        }

        func coalescer(maxInFlight: Int = 1, batchMax: Int = 256) -> StatCoalescer {
            StatCoalescer(
                maxInFlight: maxInFlight, batchMax: batchMax,
                sendOne: { path in
                    await withCheckedContinuation { continuation in
                        let go = self.state.withLock { state -> Bool in
                            state.single.append(path)
                            if state.open { return true }
                            state.held.append(continuation)
                            return false
                        }
                        if go { continuation.resume() }
                    }
                    return try self.answer(path).get()
                },
                sendMany: { paths in
                    self.state.withLock { $0.many.append(paths) }
                    if self.failMany { throw DFSError(.connectionFailed, "connection refused") }
                    return paths.map { self.answer($0) }
                })
        }
    }

    static func paths(_ count: Int) throws -> [DFSPath] {
        try (0..<count).map { try DFSPath("/dir/file-\($0)") }
    }

    /// Starts a caller per path once the first one's request is held, and waits until every
    /// other one is queued behind it.
    static func queueBehindHeldRequest(
        _ coalescer: StatCoalescer, server: Server, paths: [DFSPath]
    ) async throws -> [Task<Result<GetFileOK, DFSError>, Never>] {
        server.close()
        var tasks: [Task<Result<GetFileOK, DFSError>, Never>] = []
        for (index, path) in paths.enumerated() {
            tasks.append(
                Task {
                    do { return .success(try await coalescer.stat(path)) } catch { return .failure(DFSError.wrap(error)) }
                })
            if index == 0 { try await eventually("the first request is held") { server.heldCount == 1 } }
        }
        try await eventually("\(paths.count - 1) callers wait") { coalescer.waitingCount == paths.count - 1 }
        return tasks
    }

    @Test func aLoneCallerSendsItsOwnRequest() async throws {
        let server = Server()
        let coalescer = server.coalescer()
        for path in try Self.paths(3) {
            let file = try await coalescer.stat(path)
            #expect(file.info.path == path)
        }
        #expect(server.single.count == 3)
        #expect(server.many.isEmpty)
        #expect(coalescer.waitingCount == 0)
    }

    @Test func callersWaitingBehindARequestShareTheNextOneAndEachGetsItsOwnAnswer() async throws {
        let paths = try Self.paths(12)
        let server = Server(missing: [paths[5], paths[9]])
        let coalescer = server.coalescer()
        let tasks = try await Self.queueBehindHeldRequest(coalescer, server: server, paths: paths)
        server.open()
        for (index, task) in tasks.enumerated() {
            switch await task.value {
            case .success(let file):
                #expect(![5, 9].contains(index))
                #expect(file.info.path == paths[index])
            case .failure(let error):
                #expect([5, 9].contains(index), "\(paths[index]): \(error)")
                #expect(error.code == .notFound)
            }
        }
        #expect(server.single == [paths[0]])
        #expect(server.many.count == 1)
        #expect(Set(server.many.first ?? []) == Set(paths.dropFirst()))
        #expect(coalescer.sharedRequests == 1)
        // Nothing is left holding a slot: the next caller alone sends its own request again.
        _ = try await coalescer.stat(paths[0])
        #expect(server.single.count == 2)
    }

    @Test func aSharedRequestTakesAtMostBatchMaxPaths() async throws {
        let paths = try Self.paths(11)
        let server = Server()
        let coalescer = server.coalescer(batchMax: 4)
        let tasks = try await Self.queueBehindHeldRequest(coalescer, server: server, paths: paths)
        server.open()
        for (index, task) in tasks.enumerated() {
            #expect(try await task.value.get().info.path == paths[index])
        }
        #expect(server.many.map(\.count) == [4, 4, 2])
    }

    @Test func aFailedSharedRequestFailsItsCallersAndTheNextCallsStillWork() async throws {
        let paths = try Self.paths(6)
        let server = Server(failMany: true)
        let coalescer = server.coalescer()
        let tasks = try await Self.queueBehindHeldRequest(coalescer, server: server, paths: paths)
        server.open()
        #expect(try await tasks[0].value.get().info.path == paths[0])
        for task in tasks.dropFirst() {
            guard case .failure(let error) = await task.value else {
                Issue.record("a caller of the failed request got an answer")
                continue
            }
            #expect(error.code == .connectionFailed)
        }
        #expect(try await coalescer.stat(paths[1]).info.path == paths[1])
        #expect(coalescer.waitingCount == 0)
    }

    /// Polls `condition` until it holds, failing after 10 s.
    static func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw DFSError(.timeout, "timed out waiting for: \(what)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
