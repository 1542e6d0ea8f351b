import ArgumentParser
import DFSClient
import DFSCore
import DFSHTTP
import DFSProcess
import DFSS3
import DFSSystem
import Foundation

struct ServeS3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-s3",
        abstract: "Serve the cluster over the S3 API, for the aws CLI, boto3, rclone and other S3 tools.",
        discussion: """
            A bucket is a top-level folder of the cluster, a key a path under it. Every request
            must be signed (Signature V4) with a key pair from DFS_S3_ACCESS_KEY and
            DFS_S3_SECRET_KEY, or from --credentials-file (one ACCESS_KEY SECRET_KEY pair per
            line). The gateway keeps no state: run several behind a load balancer.
            Example:
              DFS_S3_ACCESS_KEY=dfs DFS_S3_SECRET_KEY=dfs-secret-key \\
                dfs serve-s3 --listen :9000 --meta 127.0.0.1:8000
              aws --endpoint-url http://127.0.0.1:9000 s3 ls
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions
    @OptionGroup var logging: LogOptions

    @Option(help: "[HOST]:PORT to listen on; ':9000' means every interface.")
    var listen: Endpoint = Endpoint(host: "", port: 9000)

    @Option(help: "The meta server, HOST:PORT; or the cluster's active and standby ones, HOST:PORT,HOST:PORT.")
    var meta: MetaList = MetaList(argument: "127.0.0.1:8000")!

    @Option(help: "A file of key pairs, one 'ACCESS_KEY SECRET_KEY' per line (instead of DFS_S3_ACCESS_KEY and DFS_S3_SECRET_KEY).")
    var credentialsFile: String?

    @Option(help: "With a domain (s3.example.com), BUCKET.s3.example.com names a bucket (virtual-host style) besides /BUCKET.")
    var domain: String?

    @Option(help: "The region the gateway says it is in (GetBucketLocation); signatures for any region are accepted.")
    var region: String = "us-east-1"

    @Option(help: "Where objects being received are staged while their blocks go to the cluster.")
    var cacheDir: String = "/var/tmp"

    @Option(help: "Block size of objects written (64MiB, 512KiB, ...).")
    var blockSize = SizeArgument(bytes: 64 * 1024 * 1024)

    @Option(help: "Replicas per block of objects written (default: the meta server's).")
    var replication: Int?

    func validate() throws {
        guard (Limits.blockBytesMin...Limits.blockBytesMax).contains(blockSize.bytes) else {
            throw ValidationError("--block-size must be \(Limits.blockBytesMin) to \(Limits.blockBytesMax) bytes")
        }
        if let replication, !(1...Limits.replicationMax).contains(replication) {
            throw ValidationError("--replication must be 1 to \(Limits.replicationMax)")
        }
    }

    func run() async throws {
        logging.apply()
        try await reportingErrors("serve-s3", server: true) {
            let credentials = try loadCredentials()
            let staging = cacheDir + "/dfs-s3-\(getpid())"
            _ = try FileSystem.makeFolders(staging)
            defer { try? FileSystem.removeTree(staging) }
            let client = try DFSClient(meta: meta.endpoints, secret: security, retry: retry)
            var options = S3Gateway.Options(stagingFolder: staging, domain: domain)
            options.region = region
            options.upload = UploadOptions(blockBytes: blockSize.bytes, replication: replication)
            let gateway = S3Gateway(client: client, credentials: credentials, options: options)
            var serverOptions = HTTPServerOptions()
            serverOptions.component = "s3"
            serverOptions.serverName = "dfs-s3"
            let server = try HTTPServer(host: listen.host, port: listen.port, options: serverOptions)
            await server.start { request in await gateway.handle(request) }
            printNow(ListeningLine.text(command: "serve-s3", endpoint: server.endpoint))
            await waitForTerminationSignal()
            printServerLine("serve-s3", .info, "stopping; requests under way get 5 s to finish")
            await server.close(grace: .seconds(5))
            await client.close()
        }
    }

    private func loadCredentials() throws -> S3Credentials {
        if let credentialsFile {
            let text = try String(decoding: FileSystem.contents(of: credentialsFile), as: UTF8.self)
            let credentials = try S3Credentials.parse(text)
            guard !credentials.isEmpty else { throw ValidationError("\(credentialsFile) holds no key pair") }
            return credentials
        }
        let environment = ProcessInfo.processInfo.environment
        guard let access = environment["DFS_S3_ACCESS_KEY"], let secret = environment["DFS_S3_SECRET_KEY"], !access.isEmpty, !secret.isEmpty else {
            throw ValidationError("set DFS_S3_ACCESS_KEY and DFS_S3_SECRET_KEY, or pass --credentials-file")
        }
        return S3Credentials([(accessKey: access, secretKey: secret)])
    }
}
