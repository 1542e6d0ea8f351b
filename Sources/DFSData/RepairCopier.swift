import DFSCore
import DFSNet
import DFSSystem

/// Sends blocks to other nodes when the meta server asks (a heartbeat's `copyBlocks`), to
/// bring a block back to its replication. Each copy runs in its own task, which the node's
/// state (``DataServerState``) tracks, counts in heartbeats and ends at the stop.
struct RepairCopier: Sendable {
    let store: BlockStore
    let reader: VerifiedReader
    let peers: PeerConnector
    let timeouts: Timeouts

    /// Starts copying, in the background; a failure is logged (the meta server asks again).
    func start(_ command: CopyBlockCommand, in state: DataServerState) async {
        await state.startCopy {
            do {
                try await copy(command)
            } catch {
                Log.warn(DataServer.component, "copy of block \(command.blockID) to \(command.target.address) failed: \(DFSError.wrap(error).message)")
            }
        }
    }

    /// Sends a block to another node, verifying every piece on the way out; the target
    /// verifies it again as it arrives and reports the block to the meta server.
    func copy(_ command: CopyBlockCommand) async throws {
        let source = try await store.open(command.blockID)
        defer { source.close() }
        let blockLength = source.length
        let stored = try await reader.storedChecksums(command.blockID, length: blockLength)
        let timeout = timeouts.request
        // A hung target never answers hello: the copy gives up within the stall time.
        let stall = timeouts.stall
        let connection = try await peers.open(command.target.address, stall: stall)
        defer { Task { await connection.close() } }
        try await connection.send(WriteBlock(blockID: command.blockID, length: blockLength, token: command.token), timeout: timeout)
        var sent = 0
        while sent < blockLength {
            try Task.checkCancellation()
            let count = min(Limits.writeFrameBytes, blockLength - sent)
            let (bytes, checksums) = try await reader.readVerifiedPieces(command.blockID, source: source, offset: sent, count: count, stored: stored)
            try await connection.send(BlockData(checksums: checksums), payload: bytes, timeout: timeout)
            store.metrics.sent(bytes.count)
            sent += count
        }
        let reply = try await connection.readWriteBlockReply(command.blockID, stall: stall, deadline: .now + timeout)
        guard reply.checksum == stored.blockChecksum else {
            throw DFSError(.checksumMismatch, "\(command.target.address) stored block \(command.blockID) with another checksum")
        }
        Log.info(DataServer.component, "copied block \(command.blockID) to \(command.target.address)")
    }
}
