import DFSCore
import DFSNet
import DFSTesting
import Foundation

/// Stands between clients and a meta server and loses replies: for each message type in
/// `dropping`, the first request of that type is passed on (so it takes effect), but its
/// reply is dropped and the client's connection closed, as when a server dies right after
/// its commit. Everything else is relayed as it is. One reply per request: enough for
/// everything but streamed listings.
final class LossyProxy: Sendable {
    private let listener: Listener
    private let toDrop: Mutex<Set<String>>
    /// Replies dropped so far, by message type.
    let dropped = Mutex<[String]>([])

    var endpoint: Endpoint { listener.endpoint }

    init(meta: Endpoint, dropping: Set<MessageType>) async throws {
        listener = try Listener(host: "127.0.0.1", port: 0, component: "lossy-proxy")
        toDrop = Mutex(Set(dropping.map(\.rawValue)))
        await listener.start { [self] client in
            guard let upstream = try? await Connection.open(to: meta, role: .client, timeout: .seconds(20)) else { return }
            await FrameServer.serve(client, role: .metaServer, component: "lossy-proxy", timeouts: .standard) { frame, client in
                try await upstream.sendRaw(Self.bytes(of: frame), timeout: .seconds(60))
                guard let reply = try await upstream.readFrame(timeout: .seconds(60)) else {
                    throw DFSError(.connectionFailed, "the meta server closed the connection")
                }
                let drop = toDrop.withLock { $0.remove(frame.type) != nil }
                if drop {
                    dropped.withLock { $0.append(frame.type) }
                    // Not an error frame: the connection just ends, with the reply lost.
                    throw DFSError(.connectionFailed, "reply to \(frame.type) dropped")
                }
                try await client.sendRaw(Self.bytes(of: reply), timeout: .seconds(60))
            }
            await upstream.close()
        }
    }

    /// A frame as it travels: its header's length (4 bytes, big-endian), header, payload.
    static func bytes(of frame: Frame) -> [UInt8] {
        let length = UInt32(frame.header.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + frame.header + frame.payload
    }

    func stop() async {
        await listener.close()
    }
}
