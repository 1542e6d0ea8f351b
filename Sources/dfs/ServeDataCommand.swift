import ArgumentParser
import DFSCore
import DFSData
import DFSProcess

struct ServeDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-data",
        abstract: "Run a data node: store blocks in a folder and serve them.",
        discussion: """
            The node keeps its id in its folder and registers with the meta server, retrying
            while the meta server is down.
            Example:
              dfs serve-data --listen :6771 --meta 127.0.0.1:8000 --dir ./dfs-data
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var logging: LogOptions

    @Option(help: "[HOST]:PORT to listen on; ':6771' means every interface.")
    var listen: Endpoint = Endpoint(host: "", port: 6771)

    @Option(help: "The meta server, HOST:PORT; or the cluster's active and standby ones, HOST:PORT,HOST:PORT.")
    var meta: MetaList = MetaList(argument: "127.0.0.1:8000")!

    @Option(
        help: ArgumentHelp(
            "[HOST]:PORT for HTTP: Prometheus metrics (/metrics); off unless given.", discussion: "Read-only and unauthenticated.",
            valueName: "[host]:port"))
    var http: Endpoint?

    @Option(help: "Folder for the node's blocks and id.")
    var dir: String = "./dfs-data"

    @Option(help: "Host name clients should use for this node (default: the address the meta server sees).")
    var advertise: String?

    @Option(help: "How often to send heartbeats (default: what the meta server suggests, 3s).")
    var heartbeat: DurationArgument?

    @Option(help: "Bytes per second the scrubber reads to re-verify stored blocks; 0 turns it off.")
    var scrubRate: SizeArgument = SizeArgument(bytes: 16 * 1024 * 1024)

    @Option(help: "Free disk space to leave alone: below it the node takes no new blocks.")
    var reserve: SizeArgument = SizeArgument(bytes: 256 * 1024 * 1024)

    @Flag(
        help:
            "Keep blocks just written in the page cache (default: their pages are dropped once on disk, so a stream of uploads does not evict what readers use)."
    )
    var cacheWrites = false

    func run() async throws {
        logging.apply()
        try await reportingErrors("serve-data", server: true) {
            var options = DataServer.Options(listen: listen, metaServers: meta.endpoints, folder: dir, advertiseHost: advertise)
            options.http = http
            options.heartbeatInterval = heartbeat?.duration
            options.scrubBytesPerSecond = scrubRate.bytes
            options.reserveBytes = reserve.bytes
            options.cacheWrittenBlocks = cacheWrites
            options.secret = try security.load()
            warnIfExposed(host: listen.host, secret: options.secret, command: "serve-data")
            let server = try await DataServer.start(options)
            printNow(ListeningLine.text(command: "serve-data", endpoint: server.endpoint))
            if let monitoring = server.monitoring { printNow(ListeningLine.httpText(command: "serve-data", endpoint: monitoring.endpoint)) }
            await waitForTerminationSignal()
            printServerLine("serve-data", .info, "stopping; requests under way get 5 s to finish")
            await server.leave(grace: .seconds(5))
        }
    }
}
