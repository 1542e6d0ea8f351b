import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// `dfs serve-s3` as a user starts it: key pairs from a file or the environment, the
/// listening line, a clear error without keys, a clean stop on SIGTERM.
@Suite(.enabled(if: TestGateway.clientsAvailable, "\(TestGateway.unavailableReason)"))
struct S3CommandTests {
    @Test func serveS3TakesItsKeysAndServesTheAwsCLI() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let noKeys = try await DFSBinary.run(
                ["serve-s3", "--listen", "127.0.0.1:0", "--meta", meta], environment: ["DFS_S3_ACCESS_KEY": "", "DFS_S3_SECRET_KEY": ""])
            #expect(noKeys.status != 0 && noKeys.standardError.contains("DFS_S3_ACCESS_KEY"), "\(noKeys.standardError)")

            try FileSystem.write(Array("# keys\n\nfirst first-secret\n\(TestGateway.accessKey) \(TestGateway.secretKey)\n".utf8), to: folder.path("keys"))
            try FileSystem.makeFolders(folder.path("cache"))
            let server = try await ServerProcess([
                "serve-s3", "--listen", "127.0.0.1:0", "--meta", meta, "--credentials-file", folder.path("keys"), "--cache-dir", folder.path("cache"),
            ])
            let environment = [
                "AWS_ACCESS_KEY_ID": TestGateway.accessKey, "AWS_SECRET_ACCESS_KEY": TestGateway.secretKey, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": folder.path("aws-config"), "AWS_SHARED_CREDENTIALS_FILE": folder.path("aws-credentials"),
                "S3_URL": "http://127.0.0.1:\(server.endpoint.port)", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            func aws(_ arguments: [String]) async throws -> DFSBinary.Result {
                try await Subprocess.run("/bin/sh", ["-c", "exec aws --endpoint-url \"$S3_URL\" \"$@\"", "aws"] + arguments, environment: environment)
            }
            let made = try await aws(["s3", "mb", "s3://from-cli"])
            #expect(made.status == 0, "\(made.standardError)")
            try FileSystem.write(Array("hello s3\n".utf8), to: folder.path("hello.txt"))
            let up = try await aws(["s3", "cp", folder.path("hello.txt"), "s3://from-cli/greetings/hello.txt"])
            #expect(up.status == 0, "\(up.standardError)")
            let listed = try await aws(["s3", "ls", "--recursive", "s3://from-cli"])
            #expect(listed.standardOutput.contains("9 greetings/hello.txt"), "\(listed.standardOutput)")
            let cat = try await DFSBinary.run(["cat", "\(meta):/from-cli/greetings/hello.txt"])
            #expect(cat.standardOutput == "hello s3\n")
            await server.stop()
            // The staging folder of the process went with it.
            #expect(try FileSystem.contentsOfFolder(folder.path("cache")).isEmpty)
        }
    }
}
