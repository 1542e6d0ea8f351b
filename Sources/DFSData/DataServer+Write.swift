import DFSCore
import DFSNet
import DFSSystem

extension DataServer {
    /// Receives a block's data frames into a temp file, verifying every piece's checksum, and,
    /// if this node is not the last in the pipeline, forwards each frame to the next node as it
    /// arrives. Acknowledges once the block is fsynced here and the rest of the pipeline has
    /// answered; a downstream node that fails is named in `failed`, and the write goes on.
    func writeBlock(_ request: WriteBlock, on connection: Connection) async throws {
        try WriteGuards.checkBlockLength(request.length)
        try WriteGuards.checkPipeline(request.pipeline)
        try checkToken(request.token, request.blockID, .write)
        try checkRoom(.block(request.blockID, bytes: request.length))
        // Refused when the block is here already or being written (`alreadyExists`).
        let writer = try await store.makeWriter(for: request.blockID, length: request.length)
        defer {
            if writer.writtenBytes < request.length { writer.abort() }
        }
        var downstream = Downstream(request: request, stall: options.timeouts.stall(behind: request.pipeline.count))
        // On every way out, the next node must hear that this write is over, or it would
        // wait for the rest of the block until its timeout.
        defer {
            if let next = downstream.connection { Task { await next.close() } }
        }
        if let next = request.pipeline.first {
            do {
                downstream.connection = try await openDownstream(next, request: request, stall: downstream.stall)
            } catch {
                downstream.lose(error)
            }
        }
        try await receive(request, into: writer, from: connection, forwardingTo: &downstream)
        // While the block is flushed here and the nodes after this one answer, the upstream
        // hears progress every second: a slow flush is not a hung node.
        let next = downstream.connection
        let timeout = options.timeouts.request
        let stall = downstream.stall
        let answered = try await connection.sendingProgress(
            for: request.blockID, every: options.timeouts.progressInterval, limit: timeout, timeout: options.timeouts.stall
        ) { () async throws -> PipelineOutcome in
            try await writer.commit()
            guard let next else { return PipelineOutcome() }
            do {
                let reply = try await next.readWriteBlockReply(request.blockID, stall: stall, deadline: .now + timeout)
                if reply.checksum == writer.checksum { return PipelineOutcome(reply) }
            } catch {
                Log.warn(Self.component, "pipeline to \(next.name) failed for block \(request.blockID): \(DFSError.wrap(error).message)")
                return .lost(request.pipeline[0].nodeID, error)
            }
            return .lost(request.pipeline[0].nodeID, stalled: false)
        }
        // Only one of the two has anything to say: a next node lost while the block streamed
        // was dropped (`next` is nil), so nothing answered after it.
        let acknowledged = PipelineOutcome.stored(on: store.nodeID, then: downstream.lost ?? answered)
        if let next {
            await next.close()
            downstream.connection = nil
        }
        try await connection.send(
            WriteBlockOK(
                blockID: request.blockID, length: request.length, checksum: writer.checksum, stored: acknowledged.stored,
                failed: acknowledged.failed, stalled: acknowledged.stalledIfAny),
            timeout: timeout)
    }

    /// The next node of a block write's pipeline, while it keeps up, or what losing it came to.
    struct Downstream {
        let request: WriteBlock
        var connection: Connection?
        /// Set when the next node could not be reached or stopped taking frames: it failed,
        /// and nothing after it has the block through this pipeline.
        var lost: PipelineOutcome?
        /// The next node must take each frame, and answer at the end, within its stall time
        /// (longer the more nodes follow it): a hung node is named in `failed` in seconds.
        let stall: Duration

        init(request: WriteBlock, stall: Duration) {
            self.request = request
            self.stall = stall
        }

        /// The next node failed with `error`: it is named failed, and stalled if it stopped
        /// answering.
        mutating func lose(_ error: any Error) {
            lost = .lost(request.pipeline[0].nodeID, error)
        }
    }

    /// Receives the block's data frames into `writer`, forwarding each to the next node while
    /// it keeps up; a next node that fails is dropped and the block goes on without it.
    private func receive(
        _ request: WriteBlock, into writer: BlockWriter, from connection: Connection, forwardingTo downstream: inout Downstream
    ) async throws {
        let timeout = options.timeouts.request
        // Each frame's buffer, once written and forwarded, takes the next one; the last goes
        // back to the node's spares for the next block.
        var spare = payloadBuffers.take()
        defer { payloadBuffers.give(spare.take()) }
        while writer.writtenBytes < request.length {
            guard let frame = try await connection.readFrame(timeout: timeout, reusing: spare.take()) else {
                throw DFSError(
                    .connectionFailed,
                    "\(connection.peer) closed the connection after \(writer.writtenBytes) of \(request.length) bytes of block \(request.blockID)")
            }
            let data = try frame.decode(BlockData.self)
            let payload = frame.payload
            try await dieIfPlanned(adding: payload.count)
            try await BlockingIO.run { try writer.append(payload, checksums: data) }
            if let next = downstream.connection {
                do {
                    try await next.send(data, payload: payload, timeout: downstream.stall)
                } catch {
                    Log.warn(Self.component, "pipeline to \(next.name) failed for block \(request.blockID): \(DFSError.wrap(error).message)")
                    await next.close()
                    downstream.connection = nil
                    downstream.lose(error)
                }
            }
            spare = payload
        }
        // On return the last buffer is free for other blocks while this one is flushed.
    }

    /// Opens the connection to the next node and sends it the request, the pipeline less
    /// that node.
    private func openDownstream(_ next: NodeAddress, request: WriteBlock, stall: Duration) async throws -> Connection {
        let connection = try await peers.open(next.address, stall: stall)
        do {
            let forwarded = WriteBlock(blockID: request.blockID, length: request.length, pipeline: Array(request.pipeline.dropFirst()), token: request.token)
            try await connection.send(forwarded, timeout: stall)
            return connection
        } catch {
            Log.warn(Self.component, "cannot forward block \(request.blockID) to \(next.address): \(DFSError.wrap(error).message)")
            await connection.close()
            throw error
        }
    }
}
