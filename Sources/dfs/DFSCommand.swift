import ArgumentParser
import DFSCore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

@main
struct DFSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfs",
        abstract: "A distributed file system in one binary.",
        discussion: """
            Start a meta server, then data nodes, then copy files in and out:
              dfs serve-meta --port 8000
              dfs serve-data --listen :6771 --meta 127.0.0.1:8000 --dir ./dfs-data
              dfs cp ./report.pdf localhost:8000:docs/report.pdf
              dfs ls -l localhost:8000:docs
            Or run a meta server and three data nodes in one process:
              dfs local-cluster --dir ./dfs-local
            """,
        subcommands: [
            ServeMetaCommand.self, ServeDataCommand.self, CopyCommand.self, MountCommand.self, ListCommand.self, StatCommand.self,
            MakeDirectoryCommand.self, MoveCommand.self, RemoveCommand.self, CatCommand.self, BenchCommand.self,
            StatusCommand.self, FsckCommand.self, MetaBackupCommand.self, LocalClusterCommand.self, ChmodCommand.self, ChownCommand.self,
            LinkCommand.self, ServeS3Command.self,
        ]
    )

    static func main() async {
        // A peer that closes its socket must give us an error from send(2), not kill the process.
        signal(SIGPIPE, SIG_IGN)
        // Every logger in the process, dfs's and its libraries', writes dfs's lines; the level
        // and format they follow are DFS_LOG and DFS_LOG_FORMAT, or a server's --log-format.
        LoggingSystem.bootstrap { label in DFSLogHandler(label: label) }
        ParentWatch.capture()
        raiseDescriptorLimit()
        // Called by mount(8) for an /etc/fstab line, as mount.dfs or through mount.fuse3.
        await main(MountHelper.translate(CommandLine.arguments))
    }

    /// A connection holds up to three descriptors (its socket and a watcher per direction),
    /// so the usual soft limit of 1024 would run out well before `Limits.connectionsMax`
    /// connections: raise it towards the hard limit.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 65536)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
