import ArgumentParser
import DFSClient
import DFSCore
import Foundation

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List a folder of the cluster.",
        discussion: """
            Examples:
              dfs ls localhost:8000            (the root folder)
              dfs ls -l localhost:8000:docs
              dfs ls -R localhost:8000:/
            """
    )

    @Argument(help: "HOST:PORT or HOST:PORT:PATH.")
    var location: String

    @Flag(name: .customShort("l"), help: "Show type, replication, size and modification time.")
    var long = false

    @Flag(name: .customShort("R"), help: "List folders recursively.")
    var recursive = false

    func run() async throws {
        try await reportingErrors("ls") {
            guard let remote = try RemoteLocation.parse(location) else {
                throw DFSError(.invalidArgument, "'\(location)' is not HOST:PORT[:PATH], for example localhost:8000:docs")
            }
            let client = DFSClient(meta: remote.endpoint)
            defer { Task { await client.close() } }
            try await list(remote.path, client: client, showFullPath: recursive)
        }
    }

    private func list(_ path: DFSPath, client: DFSClient, showFullPath: Bool) async throws {
        let (info, entries) = try await client.list(path)
        if info.type == .file {
            printNow(format(info, name: showFullPath ? info.path.string : info.path.name))
            return
        }
        for entry in entries {
            printNow(format(entry, name: showFullPath ? entry.path.string : entry.path.name))
        }
        if recursive {
            for entry in entries where entry.type == .dir {
                try await list(entry.path, client: client, showFullPath: true)
            }
        }
    }

    private func format(_ entry: FileInfo, name: String) -> String {
        let shownName = entry.type == .dir ? name + "/" : name
        let size = String(entry.size)
        let paddedSize = String(repeating: " ", count: max(0, 12 - size.count)) + size
        guard long else { return "\(paddedSize)  \(shownName)" }
        let type = entry.type == .dir ? "dir " : "file"
        let replication = entry.type == .dir ? "-" : String(entry.replication)
        let date = Date(timeIntervalSince1970: entry.mtime)
        let stamp = date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon))
        return "\(type)  \(replication)  \(paddedSize)  \(stamp)  \(shownName)"
    }
}
