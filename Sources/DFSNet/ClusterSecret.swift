import Crypto
import DFSCore
import DFSSystem
import Foundation

/// The secret every member of a cluster shares. With it, every connection is TLS 1.3 with a
/// key derived from the secret (``TLSContexts``): both sides prove they hold it inside the
/// handshake, and everything after is encrypted and authenticated. The meta server also signs
/// with it the block tokens that data nodes ask for.
///
/// A secret's text may hold several secrets, one per line, to change the secret without
/// stopping the cluster: the first is the one this process uses (to connect, to sign), and
/// any of them is accepted from a peer.
public struct ClusterSecret: Sendable {
    /// Shorter secrets are too easy to guess offline from one recorded handshake.
    public static let bytesMin = 16
    /// A secret longer than this is a mistake (a whole file passed by accident).
    public static let bytesMax = 4096
    /// Secrets accepted at once, during a change of secret.
    public static let acceptedMax = 4

    /// The secrets, the one in use first.
    private let secrets: [[UInt8]]
    let tls: TLSContexts

    /// The secret's text: one secret per line, surrounding white space (a file's final
    /// newline) removed from each, blank lines left out.
    public init(_ text: String) throws(DFSError) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else {
            throw DFSError(.invalidArgument, "the cluster secret must be at least \(Self.bytesMin) bytes (try: head -c 32 /dev/urandom | base64)")
        }
        guard lines.count <= Self.acceptedMax else {
            throw DFSError(.invalidArgument, "the cluster secret holds \(lines.count) lines; at most \(Self.acceptedMax) secrets are accepted at once")
        }
        for line in lines {
            guard line.utf8.count >= Self.bytesMin else {
                throw DFSError(.invalidArgument, "the cluster secret must be at least \(Self.bytesMin) bytes (try: head -c 32 /dev/urandom | base64)")
            }
            guard line.utf8.count <= Self.bytesMax else {
                throw DFSError(.invalidArgument, "the cluster secret must be at most \(Self.bytesMax) bytes")
            }
        }
        secrets = lines.map { Array($0.utf8) }
        tls = try TLSContexts(secrets: secrets)
    }

    /// How many secrets are accepted (more than one while the secret is being changed).
    public var acceptedCount: Int { secrets.count }

    /// The secret from `--secret-file PATH` if given, else from `DFS_SECRET`, else none.
    public static func load(file: String?, environment: [String: String]) throws(DFSError) -> ClusterSecret? {
        if let file {
            let data: [UInt8]
            do throws(SystemError) {
                data = try FileSystem.contents(of: file)
            } catch {
                throw DFSError(.invalidArgument, "cannot read secret file \(file): \(error.reason)")
            }
            guard data.count <= (bytesMax + 1) * acceptedMax + 16 else {
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

    /// HMAC-SHA256 of the parts under the secret in use, each part prefixed with its length
    /// so no two lists collide.
    func mac(_ parts: [String]) -> String {
        Self.mac(parts, key: secrets[0])
    }

    private static func mac(_ parts: [String], key: [UInt8]) -> String {
        var message = Data()
        for part in parts {
            message.append(contentsOf: "\(part.utf8.count):".utf8)
            message.append(contentsOf: part.utf8)
        }
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Whether `received` is the MAC of the parts under any accepted secret, each compared in
    /// constant time.
    func matches(_ received: String, _ parts: [String]) -> Bool {
        let given = Array(received.utf8)
        var found = false
        for key in secrets {
            let expected = Array(Self.mac(parts, key: key).utf8)
            guard expected.count == given.count else { continue }
            var difference: UInt8 = 0
            for (a, b) in zip(expected, given) { difference |= a ^ b }
            if difference == 0 { found = true }
        }
        return found
    }

    // MARK: Block tokens

    /// The longest token a data node reads: 16 node ids of 64 bytes and the rest.
    public static let blockTokenBytesMax = 1400

    /// A token that lets its holder `operation` block `blockID` on the nodes `nodes` (and no
    /// other) until `expires` (seconds since 1970): `BLOCK.OPERATION.EXPIRES.NODES.MAC`, the
    /// node ids joined by commas.
    public func blockToken(_ blockID: BlockID, _ operation: BlockAccess, nodes: [NodeID], expires: Double) -> String {
        let expiry = String(Int64(expires.rounded(.up)))
        let nodeList = nodes.map(\.rawValue).joined(separator: ",")
        let signature = mac(["dfs-block-token", String(blockID.rawValue), operation.rawValue, expiry, nodeList])
        return "\(blockID.rawValue).\(operation.rawValue).\(expiry).\(nodeList).\(signature)"
    }

    /// Throws `unauthorized` unless `token` was signed with an accepted secret for exactly
    /// this block and operation, names `node` among its nodes, and has not expired at `now`.
    public func checkBlockToken(_ token: String?, _ blockID: BlockID, _ operation: BlockAccess, node: NodeID, now: Double) throws(DFSError) {
        guard let token, !token.isEmpty else {
            throw DFSError(.unauthorized, "\(operation.rawValue) of block \(blockID) needs a block token from the meta server")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, token.utf8.count <= Self.blockTokenBytesMax,
            matches(parts[4], ["dfs-block-token", parts[0], parts[1], parts[2], parts[3]])
        else {
            throw DFSError(.unauthorized, "the block token for block \(blockID) is not valid")
        }
        guard parts[0] == String(blockID.rawValue), parts[1] == operation.rawValue else {
            throw DFSError(.unauthorized, "the block token is for \(parts[1]) of block \(parts[0]), not \(operation.rawValue) of block \(blockID)")
        }
        guard parts[3].split(separator: ",").contains(where: { $0 == node.rawValue }) else {
            throw DFSError(.unauthorized, "the block token for block \(blockID) is for other nodes than \(node)")
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
