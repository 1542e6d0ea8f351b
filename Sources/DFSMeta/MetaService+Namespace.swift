import DFSCore
import DFSNet

extension MetaService {
    /// Namespace changes (make a folder, move, remove). Returns false for a frame type that
    /// is not one of them.
    func handleNamespace(_ frame: Frame, on connection: Connection) async throws -> Bool {
        switch MessageType(rawValue: frame.type) {
        case .makeDirectory:
            try await store.makeDirectory(frame.decode(MakeDirectory.self).path, now: clock.now())
        case .move:
            let request = try frame.decode(Move.self)
            try await store.move(request.source, to: request.target, now: clock.now())
        case .remove:
            let request = try frame.decode(Remove.self)
            try await store.remove(request.path, recursive: request.recursive, now: clock.now())
        default:
            return false
        }
        try await reply(OK(), on: connection)
        return true
    }
}
