import DFSCore
import Foundation
import Testing

@testable import DFSNet

/// The cluster secret's proofs and block tokens, without a network.
@Suite struct ClusterSecretTests {
    let secret = try! ClusterSecret("sixteen bytes at least, yes")

    @Test func shortSecretIsRefusedWithAHint() {
        let error = #expect(throws: DFSError.self) { try ClusterSecret("tiny") }
        #expect(error?.message.contains("at least 16 bytes") == true)
    }

    @Test func fileSecretIgnoresItsTrailingNewlineAndBeatsTheEnvironment() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-secret-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("sixteen bytes at least, yes\n".utf8).write(to: file)
        let loaded = try #require(try ClusterSecret.load(file: file.path, environment: ["DFS_SECRET": "something else entirely"]))
        #expect(loaded.clientProof(clientNonce: "a", serverNonce: "b") == secret.clientProof(clientNonce: "a", serverNonce: "b"))
        let fromEnvironment = try #require(try ClusterSecret.load(file: nil, environment: ["DFS_SECRET": "sixteen bytes at least, yes"]))
        #expect(fromEnvironment.serverProof(clientNonce: "a", serverNonce: "b") == secret.serverProof(clientNonce: "a", serverNonce: "b"))
        #expect(try ClusterSecret.load(file: nil, environment: [:]) == nil)
        let missing = #expect(throws: DFSError.self) { try ClusterSecret.load(file: "/nonexistent/secret", environment: [:]) }
        #expect(missing?.message.contains("/nonexistent/secret") == true)
    }

    @Test func proofsDependOnBothNoncesTheSideAndTheSecret() throws {
        let other = try ClusterSecret("a different secret of length")
        let proof = secret.clientProof(clientNonce: "n1", serverNonce: "s1")
        #expect(secret.checkClientProof(proof, clientNonce: "n1", serverNonce: "s1"))
        #expect(!secret.checkClientProof(proof, clientNonce: "n1", serverNonce: "s2"))
        #expect(!secret.checkClientProof(proof, clientNonce: "n2", serverNonce: "s1"))
        #expect(!secret.checkServerProof(proof, clientNonce: "n1", serverNonce: "s1"), "a client proof is not a server proof")
        #expect(!other.checkClientProof(proof, clientNonce: "n1", serverNonce: "s1"))
        // Length-prefixed parts: moving a character across the boundary changes the proof.
        #expect(secret.clientProof(clientNonce: "ab", serverNonce: "c") != secret.clientProof(clientNonce: "a", serverNonce: "bc"))
    }

    @Test func noncesAreFreshHex() {
        let nonces = (0..<100).map { _ in ClusterSecret.nonce() }
        #expect(Set(nonces).count == 100)
        #expect(nonces.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test func blockTokenIsBoundToBlockOperationAndTime() throws {
        let token = secret.blockToken(BlockID(7), .read, expires: 1000)
        try secret.checkBlockToken(token, BlockID(7), .read, now: 999)
        for (blockID, access, now) in [(BlockID(8), BlockAccess.read, 999.0), (BlockID(7), .write, 999), (BlockID(7), .read, 1001)] {
            #expect(throws: DFSError.self) { try secret.checkBlockToken(token, blockID, access, now: now) }
        }
        // Changing the expiry breaks the signature.
        let stretched = token.replacingOccurrences(of: ".1000.", with: ".9999999999.")
        let error = #expect(throws: DFSError.self) { try secret.checkBlockToken(stretched, BlockID(7), .read, now: 999) }
        #expect(error?.code == .unauthorized)
        #expect(throws: DFSError.self) { try secret.checkBlockToken(nil, BlockID(7), .read, now: 0) }
        #expect(throws: DFSError.self) { try secret.checkBlockToken(String(repeating: ".", count: 10_000), BlockID(7), .read, now: 0) }
    }
}
