import DFSCore
import Foundation
import Testing

@testable import DFSNet

/// The cluster secret's text, keys and block tokens, without a network.
@Suite struct ClusterSecretTests {
    let secret = try! ClusterSecret("sixteen bytes at least, yes")
    static let node = NodeID("node-a")

    @Test func shortSecretIsRefusedWithAHint() {
        let error = #expect(throws: DFSError.self) { try ClusterSecret("tiny") }
        #expect(error?.message.contains("at least 16 bytes") == true)
    }

    @Test func fileSecretIgnoresItsTrailingNewlineAndBeatsTheEnvironment() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-secret-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("sixteen bytes at least, yes\n".utf8).write(to: file)
        let loaded = try #require(try ClusterSecret.load(file: file.path, environment: ["DFS_SECRET": "something else entirely"]))
        let token = secret.blockToken(BlockID(1), .read, nodes: [Self.node], expires: 100)
        #expect(loaded.blockToken(BlockID(1), .read, nodes: [Self.node], expires: 100) == token)
        let fromEnvironment = try #require(try ClusterSecret.load(file: nil, environment: ["DFS_SECRET": "sixteen bytes at least, yes"]))
        #expect(fromEnvironment.blockToken(BlockID(1), .read, nodes: [Self.node], expires: 100) == token)
        #expect(try ClusterSecret.load(file: nil, environment: [:]) == nil)
        let missing = #expect(throws: DFSError.self) { try ClusterSecret.load(file: "/nonexistent/secret", environment: [:]) }
        #expect(missing?.message.contains("/nonexistent/secret") == true)
    }

    /// While a secret is being changed, a text of several lines uses its first secret and
    /// accepts all of them; each line must be a valid secret on its own.
    @Test func severalSecretsSignWithTheFirstAndAcceptAll() throws {
        let old = try ClusterSecret("the old secret, sixteen+")
        let new = try ClusterSecret("the new secret, sixteen+")
        let both = try ClusterSecret("the new secret, sixteen+\n\n  the old secret, sixteen+  \n")
        #expect(both.acceptedCount == 2)
        #expect(both.blockToken(BlockID(5), .write, nodes: [Self.node], expires: 50) == new.blockToken(BlockID(5), .write, nodes: [Self.node], expires: 50))
        try both.checkBlockToken(old.blockToken(BlockID(5), .write, nodes: [Self.node], expires: 50), BlockID(5), .write, node: Self.node, now: 1)
        try both.checkBlockToken(new.blockToken(BlockID(5), .write, nodes: [Self.node], expires: 50), BlockID(5), .write, node: Self.node, now: 1)
        #expect(throws: DFSError.self) {
            try new.checkBlockToken(old.blockToken(BlockID(5), .write, nodes: [Self.node], expires: 50), BlockID(5), .write, node: Self.node, now: 1)
        }
        let short = #expect(throws: DFSError.self) { try ClusterSecret("a long enough first secret\nshort") }
        #expect(short?.message.contains("at least 16 bytes") == true)
        #expect(throws: DFSError.self) { try ClusterSecret((0..<5).map { "secret number \($0) is long" }.joined(separator: "\n")) }
    }

    /// The key TLS uses is derived from the secret, not the secret itself, and its identity
    /// on the wire tells secrets apart without giving the key away.
    @Test func tlsKeysAreDerivedAndTheirIdentitiesDiffer() {
        let key = TLSContexts.key(for: Array("sixteen bytes at least, yes".utf8))
        #expect(key.count == 32)
        #expect(key != Array("sixteen bytes at least, yes".utf8.prefix(32)))
        let other = TLSContexts.key(for: Array("a different secret of length".utf8))
        #expect(TLSContexts.identity(of: key) != TLSContexts.identity(of: other))
        #expect(TLSContexts.identity(of: key).count == TLSContexts.identity(of: other).count)
    }

    @Test func blockTokenIsBoundToBlockOperationAndTime() throws {
        let token = secret.blockToken(BlockID(7), .read, nodes: [Self.node], expires: 1000)
        try secret.checkBlockToken(token, BlockID(7), .read, node: Self.node, now: 999)
        for (blockID, access, now) in [(BlockID(8), BlockAccess.read, 999.0), (BlockID(7), .write, 999), (BlockID(7), .read, 1001)] {
            #expect(throws: DFSError.self) { try secret.checkBlockToken(token, blockID, access, node: Self.node, now: now) }
        }
        // Changing the expiry breaks the signature.
        let stretched = token.replacingOccurrences(of: ".1000.", with: ".9999999999.")
        let error = #expect(throws: DFSError.self) { try secret.checkBlockToken(stretched, BlockID(7), .read, node: Self.node, now: 999) }
        #expect(error?.code == .unauthorized)
        #expect(throws: DFSError.self) { try secret.checkBlockToken(nil, BlockID(7), .read, node: Self.node, now: 0) }
        // Bound to its nodes: another node refuses it, a token for several serves each.
        let elsewhere = #expect(throws: DFSError.self) { try secret.checkBlockToken(token, BlockID(7), .read, node: NodeID("node-b"), now: 999) }
        #expect(elsewhere?.message.contains("other nodes") == true)
        let shared = secret.blockToken(BlockID(7), .write, nodes: [Self.node, NodeID("node-b")], expires: 1000)
        try secret.checkBlockToken(shared, BlockID(7), .write, node: NodeID("node-b"), now: 1)
        #expect(throws: DFSError.self) { try secret.checkBlockToken(shared, BlockID(7), .write, node: NodeID("node"), now: 1) }
        let moved = shared.replacingOccurrences(of: "node-a,node-b", with: "node-a,node-c")
        #expect(throws: DFSError.self) { try secret.checkBlockToken(moved, BlockID(7), .write, node: NodeID("node-c"), now: 1) }
        #expect(throws: DFSError.self) { try secret.checkBlockToken(String(repeating: ".", count: 10_000), BlockID(7), .read, node: Self.node, now: 0) }
    }
}
