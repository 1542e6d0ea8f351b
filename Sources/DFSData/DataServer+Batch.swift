import DFSCore
import DFSNet

extension DataServer {
    /// Stores a batch of whole small blocks that arrived in one frame: every block is checked
    /// against its piece checksums and the batch is written as one pack (one file, one flush,
    /// one rename, in a pass of the group sync), while the same request goes on to the next
    /// node of the pipeline. All or nothing on this node.
    func writeBlocks(_ request: WriteBlocks, payload: [UInt8]) async throws -> WriteBlocksOK {
        let total = try WriteGuards.checkBatch(request, payloadBytes: payload.count)
        for block in request.blocks { try checkToken(block.token, block.blockID, .write) }
        try checkRoom(.batch(blockCount: request.blocks.count, bytes: total))
        // Refused when a block is here already or being written (`alreadyExists`).
        let blockIDs = request.blocks.map(\.blockID)
        try store.claim(blockIDs)
        defer { store.release(blockIDs) }
        try await dieIfPlanned(adding: payload.count)
        // The next node works on the batch while this one does.
        let forwarding = request.pipeline.first.map { next in
            Task { await self.forward(request, payload: payload, to: next) }
        }
        let entries: [PackFile.Entry]
        do {
            entries = try await store.storePack(request.blocks, payload: payload)
        } catch {
            forwarding?.cancel()
            throw error
        }
        let checksums = entries.map(\.checksum)
        var downstream = PipelineOutcome()
        if let forwarding, let next = request.pipeline.first {
            switch await forwarding.value {
            case .success(let reply) where reply.checksums == checksums:
                downstream = PipelineOutcome(reply)
            case .success:
                downstream = .lost(next.nodeID, stalled: false)
            case .failure(let error):
                downstream = .lost(next.nodeID, error)
            }
        }
        let acknowledged = PipelineOutcome.stored(on: store.nodeID, then: downstream)
        return WriteBlocksOK(checksums: checksums, stored: acknowledged.stored, failed: acknowledged.failed, stalled: acknowledged.stalledIfAny)
    }

    /// Sends a batch on to the next node of its pipeline: its reply, or why it failed.
    private func forward(_ request: WriteBlocks, payload: [UInt8], to next: NodeAddress) async -> Result<WriteBlocksOK, DFSError> {
        do {
            let stall = options.timeouts.stall(behind: request.pipeline.count)
            let connection = try await peers.open(next.address, stall: stall)
            defer { Task { await connection.close() } }
            let forwarded = WriteBlocks(blocks: request.blocks, pipeline: Array(request.pipeline.dropFirst()))
            // The frame must be taken, and progress or the answer must come, within the stall
            // time: a node that stopped answering is named failed in seconds.
            try await connection.send(forwarded, payload: payload, timeout: stall)
            return .success(
                try await connection.readReply(
                    WriteBlocksOK.self, progressFor: request.blocks[0].blockID, stall: stall, deadline: .now + options.timeouts.request))
        } catch {
            Log.warn(Self.component, "pipeline to \(next.address) failed for a batch of \(request.blocks.count) blocks: \(DFSError.wrap(error).message)")
            return .failure(DFSError.wrap(error))
        }
    }
}
