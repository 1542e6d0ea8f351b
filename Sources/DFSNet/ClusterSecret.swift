import Crypto
import DFSCore
import DFSSystem
import Foundation

/// The secret every member of a cluster shares. With it, each connection opens with an
/// HMAC-SHA256 challenge-response (fresh nonces on both sides, so a recorded exchange is
/// worth nothing later), and the meta server signs the block tokens data nodes ask for.
public struct ClusterSecret: Sendable {
    /// Shorter secrets are too easy to guess offline from one recorded handshake.
    public static let bytesMin = 16
    /// A secret longer than this is a mistake (a whole file passed by accident).
    public static let bytesMax = 4096

    private let keyBytes: [UInt8]

    /// The secret's text, with surrounding white space (a file's final newline) removed.
    public init(_ text: String) throws(DFSError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= Self.bytesMin else {
            throw DFSError(.invalidArgument, "the cluster secret must be at least \(Self.bytesMin) bytes (try: head -c 32 /dev/urandom | base64)")
        }
        guard trimmed.utf8.count <= Self.bytesMax else {
            throw DFSError(.invalidArgument, "the cluster secret must be at most \(Self.bytesMax) bytes")
        }
        keyBytes = Array(trimmed.utf8)
    }

    /// The secret from `--secret-file PATH` if given, else from `DFS_SECRET`, else none.
    public static func load(file: String?, environment: [String: String]) throws(DFSError) -> ClusterSecret? {
        if let file {
            let data: [UInt8]
            do throws(SystemError) {
                data = try FileSystem.contents(of: file)
            } catch {
                throw DFSError(.invalidArgument, "cannot read secret file \(file): \(error.reason)")
            }
            guard data.count <= bytesMax * 2 else {
                throw DFSError(.invalidArgument, "secret file \(file) is larger than a secret can be")
            }
            let text = String(decoding: data, as: UTF8.self)
            return try ClusterSecret(text)
        }
        if let text = environment["DFS_SECRET"], !text.isEmpty {
            return try ClusterSecret(text)
        }
        return nil
    }

    /// A fresh random nonce, as 32 hex digits.
    public static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// HMAC-SHA256 of the parts, each prefixed with its length so no two lists collide.
    func mac(_ parts: [String]) -> String {
        var message = Data()
        for part in parts {
            message.append(contentsOf: "\(part.utf8.count):".utf8)
            message.append(contentsOf: part.utf8)
        }
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: keyBytes)))
    }

    /// Compares a received MAC with the expected one in constant time.
    func matches(_ received: String, _ parts: [String]) -> Bool {
        let expected = Array(mac(parts).utf8)
        let given = Array(received.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) { difference |= a ^ b }
        return difference == 0
    }

    // MARK: Handshake

    /// What the connecting side sends to prove it knows the secret.
    public func clientProof(clientNonce: String, serverNonce: String) -> String {
        mac(["dfs-client-proof", clientNonce, serverNonce])
    }

    /// What the accepting side sends, so that a client can tell a server that does not know
    /// the secret (an impostor) from a real member.
    public func serverProof(clientNonce: String, serverNonce: String) -> String {
        mac(["dfs-server-proof", clientNonce, serverNonce])
    }

    func checkClientProof(_ proof: String, clientNonce: String, serverNonce: String) -> Bool {
        matches(proof, ["dfs-client-proof", clientNonce, serverNonce])
    }

    func checkServerProof(_ proof: String, clientNonce: String, serverNonce: String) -> Bool {
        matches(proof, ["dfs-server-proof", clientNonce, serverNonce])
    }

    // MARK: Block tokens

    /// A token that lets its holder `operation` block `blockID` until `expires` (seconds
    /// since 1970): `BLOCK.OPERATION.EXPIRES.MAC`.
    public func blockToken(_ blockID: BlockID, _ operation: BlockAccess, expires: Double) -> String {
        let expiry = String(Int64(expires.rounded(.up)))
        return "\(blockID.rawValue).\(operation.rawValue).\(expiry).\(mac(["dfs-block-token", String(blockID.rawValue), operation.rawValue, expiry]))"
    }

    /// Throws `unauthorized` unless `token` was signed with this secret for exactly this block
    /// and operation and has not expired at `now`.
    public func checkBlockToken(_ token: String?, _ blockID: BlockID, _ operation: BlockAccess, now: Double) throws(DFSError) {
        guard let token, !token.isEmpty else {
            throw DFSError(.unauthorized, "\(operation.rawValue) of block \(blockID) needs a block token from the meta server")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, token.utf8.count <= 256,
            matches(parts[3], ["dfs-block-token", parts[0], parts[1], parts[2]])
        else {
            throw DFSError(.unauthorized, "the block token for block \(blockID) is not valid")
        }
        guard parts[0] == String(blockID.rawValue), parts[1] == operation.rawValue else {
            throw DFSError(.unauthorized, "the block token is for \(parts[1]) of block \(parts[0]), not \(operation.rawValue) of block \(blockID)")
        }
        guard let expires = Double(parts[2]), expires >= now else {
            throw DFSError(.unauthorized, "the block token for block \(blockID) has expired; ask the meta server again")
        }
    }
}

/// What a block token allows.
public enum BlockAccess: String, Sendable {
    case read, write
}
