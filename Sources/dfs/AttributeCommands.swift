import ArgumentParser
import DFSClient
import DFSCore

struct ChmodCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chmod",
        abstract: "Set the permission bits of files and folders in the cluster.",
        discussion: """
            MODE is octal, as chmod(1) takes it (644, 0755, 1777). The bits are stored with
            the entry and shown by ls -l and stat; a mount enforces them (dfs mount uses the
            kernel's permission checks). A file written over keeps its bits.
            Examples:
              dfs chmod 600 localhost:8000:secrets/key
              dfs chmod 755 localhost:8000:bin/tool localhost:8000:bin
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "Permission bits in octal, 0 to 7777.")
    var mode: String

    @Argument(help: "Files or folders: HOST:PORT:PATH or dfs:PATH, on one cluster.")
    var paths: [String]

    func run() async throws {
        try await reportingErrors("chmod") {
            guard let bits = Int(mode, radix: 8), (0...0o7777).contains(bits) else {
                throw DFSError(.invalidArgument, "mode '\(mode)' is not octal permission bits (0 to 7777)")
            }
            let remotes = try Locations.requiredOnOneCluster(paths)
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                for remote in remotes { try await client.setAttributes(remote.path, mode: bits) }
            }
        }
    }
}

struct ChownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chown",
        abstract: "Set the owner and group of files and folders in the cluster.",
        discussion: """
            OWNER[:GROUP] or :GROUP, as numeric ids (the cluster has no user names of its own;
            a mount shows the ids as its machine names them).
            Examples:
              dfs chown 1000:1000 localhost:8000:home/alice
              dfs chown :50 localhost:8000:shared
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "OWNER[:GROUP] or :GROUP, numeric ids.")
    var owner: String

    @Argument(help: "Files or folders: HOST:PORT:PATH or dfs:PATH, on one cluster.")
    var paths: [String]

    /// The owner and group ids `text` names; nil where it names none.
    static func ids(_ text: String) throws -> (uid: Int?, gid: Int?) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func id(_ part: String) throws -> Int? {
            if part.isEmpty { return nil }
            guard let value = Int(part), (0...Int(UInt32.max - 1)).contains(value) else {
                throw DFSError(.invalidArgument, "'\(part)' is not a numeric user or group id")
            }
            return value
        }
        let uid = try id(parts[0])
        let gid = parts.count > 1 ? try id(parts[1]) : nil
        guard uid != nil || gid != nil else { throw DFSError(.invalidArgument, "'\(text)' names neither an owner nor a group") }
        return (uid, gid)
    }

    func run() async throws {
        try await reportingErrors("chown") {
            let (uid, gid) = try Self.ids(owner)
            let remotes = try Locations.requiredOnOneCluster(paths)
            try await DFSClient.using(remotes[0].endpoints, secret: security, retry: retry) { client in
                for remote in remotes { try await client.setAttributes(remote.path, uid: uid, gid: gid) }
            }
        }
    }
}

struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ln",
        abstract: "Make a symbolic link in the cluster.",
        discussion: """
            As ln -s: the link holds TARGET as given, and nothing in the cluster follows it;
            a mount shows it as a link, ls -l as `name -> target`, and cp -r copies it as a
            link both ways.
            Examples:
              dfs ln -s ../shared/data.csv localhost:8000:project/data.csv
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Flag(name: .short, help: "Make a symbolic link (the only kind the cluster keeps).")
    var symbolic = false

    @Flag(name: .shortAndLong, help: "Replace a file or link at the link's path.")
    var force = false

    @Argument(help: "What the link points to, kept as given.")
    var target: String

    @Argument(help: "The link: HOST:PORT:PATH or dfs:PATH.")
    var link: String

    func run() async throws {
        try await reportingErrors("ln") {
            guard symbolic else { throw DFSError(.invalidArgument, "the cluster keeps symbolic links only: use ln -s") }
            let remote = try Locations.required(link)
            try await DFSClient.using(remote.endpoints, secret: security, retry: retry) { client in
                try await client.makeLink(remote.path, target: target, overwrite: force)
            }
        }
    }
}
