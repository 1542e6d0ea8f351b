import DFSCore
import DFSNet

extension MetaService {
    /// Namespace changes (make a folder, move, remove). Returns false for a frame type that
    /// is not one of them.
    func handleNamespace(_ frame: Frame, on connection: Connection) async throws -> Bool {
        false
    }
}
