import DFSClient
import DFSCore
import DFSHTTP
import DFSS3
import DFSSystem
import DFSTesting
import Foundation

/// An S3 gateway in the test process over an in-process cluster, and the real clients the
/// tests drive it with: the aws CLI, Python's boto3 and rclone, run as processes with a
/// configuration of their own (nothing of the user's `~/.aws`).
struct TestGateway {
    static let accessKey = "dfs-test-access"
    static let secretKey = "dfs-test-secret/with+odd=chars"

    let cluster: TestCluster
    let server: HTTPServer
    let folder: TempFolder
    /// Added to the gateway's clock, to make presigned URLs expire without waiting.
    let clockOffset: Mutex<TimeInterval>

    var url: String { "http://127.0.0.1:\(server.endpoint.port)" }

    /// Whether the aws CLI and boto3 can run here (`make deps` installs them).
    static var clientsAvailable: Bool {
        (try? FileSystem.status("/bin/sh")) != nil && shellSucceeds("command -v aws >/dev/null && python3 -c 'import boto3' 2>/dev/null")
    }
    static let unavailableReason = "the aws CLI or boto3 is missing: run make deps"

    private static func shellSucceeds(_ command: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func with<T>(blockBytes: Int = 1024 * 1024, _ body: (TestGateway) async throws -> T) async throws -> T {
        try await withCluster { cluster in
            let folder = try TempFolder()
            defer { folder.remove() }
            try FileSystem.makeFolders(folder.path("staging"))
            let offset = Mutex<TimeInterval>(0)
            var options = S3Gateway.Options(stagingFolder: folder.path("staging"))
            options.upload = UploadOptions(blockBytes: blockBytes)
            let gateway = S3Gateway(
                client: cluster.client, credentials: S3Credentials([(accessKey: accessKey, secretKey: secretKey)]), options: options,
                now: { Date() + offset.withLock { $0 } })
            let server = try HTTPServer(host: "127.0.0.1", port: 0)
            await server.start { request in await gateway.handle(request) }
            let harness = TestGateway(cluster: cluster, server: server, folder: folder, clockOffset: offset)
            do {
                let result = try await body(harness)
                await server.close()
                return result
            } catch {
                await server.close()
                throw error
            }
        }
    }

    /// The environment every client runs with: the test's keys, no user configuration.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = Self.accessKey
        environment["AWS_SECRET_ACCESS_KEY"] = Self.secretKey
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment["AWS_CONFIG_FILE"] = folder.path("aws-config")
        environment["AWS_SHARED_CREDENTIALS_FILE"] = folder.path("aws-credentials")
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["S3_URL"] = url
        return environment
    }

    /// Runs `aws --endpoint-url URL arguments...`.
    func aws(_ arguments: [String], environment extra: [String: String] = [:], timeout: Duration = .seconds(120)) async throws -> DFSBinary.Result {
        var environment = self.environment
        for (key, value) in extra { environment[key] = value }
        return try await Subprocess.run(
            "/bin/sh", ["-c", "exec aws --endpoint-url \"$S3_URL\" \"$@\"", "aws"] + arguments, environment: environment, timeout: timeout)
    }

    /// Runs a Python script with `s3`, a boto3 client of the gateway, defined before it.
    func python(_ script: String, timeout: Duration = .seconds(120)) async throws -> DFSBinary.Result {
        let prelude = """
            import os, sys, boto3, botocore
            from botocore.config import Config
            s3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

            """
        let path = folder.path("script-\(UUID().uuidString.prefix(8)).py")
        try FileSystem.write(Array((prelude + script).utf8), to: path)
        return try await Subprocess.run("/bin/sh", ["-c", "exec python3 \"$0\"", path], environment: environment, timeout: timeout)
    }
}
