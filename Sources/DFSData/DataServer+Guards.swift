import DFSCore
import DFSNet
import Foundation

extension DataServer {
    /// With a cluster secret, a block is read or written only with the meta server's token
    /// for exactly that block and operation, made for this node among others: knowing a
    /// block id is not enough, and a token given for other nodes is worth nothing here.
    func checkToken(_ token: String?, _ blockID: BlockID, _ operation: BlockAccess) throws {
        guard let secret = options.secret else { return }
        do {
            try secret.checkBlockToken(token, blockID, operation, node: store.nodeID, now: Date().timeIntervalSince1970)
        } catch {
            Log.warn(Self.component, "refused \(operation.rawValue) of block \(blockID): \(error.message)")
            throw error
        }
    }

    /// Refuses a write that does not fit in the free space above the reserve.
    func checkRoom(_ request: WriteGuards.Room) throws {
        let refusal = WriteGuards.roomRefusal(
            request, availableBytes: availableBytes, reserveBytes: options.reserveBytes, nodeID: store.nodeID)
        guard let refusal else { return }
        Log.warn(Self.component, refusal.log)
        throw refusal.error
    }

    /// Free bytes new blocks may use: the file system's free space less the reserve.
    var availableBytes: Int { store.bytesAvailable(above: options.reserveBytes) }

    /// With ``FaultInjection/dieAfterReceivingBytes`` set (tests), counts block bytes and
    /// stops the node at once when they reach it, as a killed process would.
    func dieIfPlanned(adding bytes: Int) async throws {
        guard let limit = options.faults.dieAfterReceivingBytes else { return }
        let total = await state.receive(bytes)
        guard total >= limit else { return }
        Log.warn(Self.component, "node \(store.nodeID) dying as planned after \(total) bytes")
        let server = self
        Task { await server.stop() }
        throw DFSError(.connectionFailed, "node died")
    }
}

extension BlockStore {
    /// Free bytes new blocks may use: the file system's free space less `reserveBytes`.
    func bytesAvailable(above reserveBytes: Int) -> Int { max(0, freeBytes - reserveBytes) }
}
