import DFSCore
import DFSSystem

/// Handing out connections: the pool's decisions, all on the actor.
extension PostgresPool {
    /// An idle connection, or leave to open one, or a turn in the queue.
    func acquire() async throws -> Grant {
        if let lostError { throw lostError }
        guard !isClosed else { throw DFSError(.unavailable, "the PostgreSQL pool is closed") }
        if let connection = idle.popLast() { return .connection(connection) }
        if openCount < options.connectionsMax && options.replacesBrokenConnections {
            openCount += 1
            return .open
        }
        guard waiters.count < options.waitersMax else {
            throw DFSError(
                .unavailable, "all \(options.connectionsMax) PostgreSQL connections are busy and \(options.waitersMax) jobs already wait",
                transient: true)
        }
        nextWaiterID += 1
        let id = nextWaiterID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let timeout = options.waitTimeout
                let timer = Task { [weak self] in
                    guard (try? await Task.sleep(for: timeout)) != nil else { return }
                    await self?.expire(
                        id, DFSError(.timeout, "waited \(timeout) for one of \(self?.options.connectionsMax ?? 0) busy PostgreSQL connections"))
                }
                waiters.append(Waiter(id: id, continuation: continuation, timer: timer))
                // Cancelled before it was queued: the handler below found nothing to expire.
                if Task.isCancelled { expire(id, CancellationError()) }
            }
        } onCancel: {
            Task { await self.expire(id, CancellationError()) }
        }
    }

    /// Fails waiter `id` if it still waits.
    private func expire(_ id: UInt64, _ error: any Error) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.timer.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Takes back what a job leaves: its connection for the next job, or, when it is gone,
    /// its place, which the next waiter fills with a new connection.
    func release(_ connection: PostgresConnection?) {
        guard let connection else {
            openCount -= 1
            if !options.replacesBrokenConnections && lostError == nil {
                lostError = PostgresSession.lostError(PostgresURI.redacted(uri))
                failWaiters(lostError!)
            }
            if !isClosed && options.replacesBrokenConnections && !waiters.isEmpty {
                openCount += 1
                grantFirstWaiter(.open)
            }
            return
        }
        if isClosed {
            openCount -= 1
            BlockingIO.pool.submit { connection.close() }
        } else if !waiters.isEmpty {
            grantFirstWaiter(.connection(connection))
        } else {
            idle.append(connection)
        }
    }

    private func grantFirstWaiter(_ grant: Grant) {
        let waiter = waiters.removeFirst()
        waiter.timer.cancel()
        waiter.continuation.resume(returning: grant)
    }

    private func failWaiters(_ error: DFSError) {
        let failed = waiters
        waiters = []
        for waiter in failed {
            waiter.timer.cancel()
            waiter.continuation.resume(throwing: error)
        }
    }

    /// Fails the jobs that wait, closes idle connections now and busy ones when their jobs
    /// end; later calls fail with `unavailable`.
    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        failWaiters(DFSError(.unavailable, "the PostgreSQL pool is closed"))
        let closing = idle
        idle = []
        openCount -= closing.count
        _ = try? await BlockingIO.run { closing.forEach { $0.close() } }
    }
}
