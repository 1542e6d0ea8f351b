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
              dfs ls localhost:8000                  (the root folder)
              dfs ls -lh localhost:8000:docs
              dfs ls -lR localhost:8000:/
              dfs ls --json localhost:8000:docs | jq '.[].path'
              DFS_META=localhost:8000 dfs ls dfs:/docs
            -l shows type, replication, size, modification time (UTC) and name. --json prints one
            array of objects with path, type ("file" or "dir"), size, mtime (seconds since
            1970), replication (0 for a folder) and, for files, blockSize, crc32c (of the
            whole file, a number) and sha256 (when recorded with cp --sha256).
            Entries are printed as they arrive, page by page, whatever the folder's size.
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var retry: RetryOptions

    @Argument(help: "HOST:PORT, HOST:PORT:PATH or dfs:PATH.")
    var location: String

    @Flag(name: .customShort("l"), help: "Show type, replication, size and modification time.")
    var long = false

    @Flag(name: .customShort("h"), help: "With -l, sizes as 1.5 MiB instead of bytes.")
    var humanSizes = false

    @Flag(name: .customShort("R"), help: "List folders recursively, with full paths.")
    var recursive = false

    @Flag(help: "Print a JSON array of entries.")
    var json = false

    func run() async throws {
        try await reportingErrors("ls") {
            let remote = try Locations.required(location)
            let printer = Printer(json: json, render: render)
            try await DFSClient.using(remote.endpoints, secret: security, retry: retry) { client in
                let info = try await client.listPages(remote.path) { page in
                    for entry in page { printer.emit(entry, name: recursive ? entry.path.string : entry.path.name) }
                    if recursive { try await walk(page, client: client, printer: printer) }
                }
                if info.type == .file { printer.emit(info, name: recursive ? info.path.string : info.path.name) }
            }
            printer.finish()
        }
    }

    /// Lists each folder of `page` and everything under it, depth first.
    private func walk(_ page: [FileInfo], client: DFSClient, printer: Printer) async throws {
        for folder in page where folder.type == .dir {
            try await client.listPages(folder.path) { entries in
                for entry in entries { printer.emit(entry, name: entry.path.string) }
                try await walk(entries, client: client, printer: printer)
            }
        }
    }

    /// Prints entries as text lines or as elements of one JSON array, as they come: each
    /// page's lines go out in one write.
    final class Printer {
        let json: Bool
        let render: (FileInfo, String) -> String
        /// One encoder for the whole listing, not one per entry.
        private let encoder = makeJSONEncoder()
        var count = 0
        private var pending: [String] = []

        init(json: Bool, render: @escaping (FileInfo, String) -> String) {
            self.json = json
            self.render = render
        }

        func emit(_ entry: FileInfo, name: String) {
            if json {
                pending.append((count == 0 ? "[" : ",") + ListCommand.entryJSON(entry, encoder: encoder))
            } else {
                pending.append(render(entry, name))
            }
            count += 1
            if pending.count >= 256 { flush() }
        }

        func flush() {
            guard !pending.isEmpty else { return }
            printNow(pending.joined(separator: "\n"))
            pending.removeAll(keepingCapacity: true)
        }

        func finish() {
            flush()
            if json { printNow(count == 0 ? "[]" : "]") }
        }
    }

    private func render(_ entry: FileInfo, name: String) -> String {
        // Escaped: a stored name (from an older version) may hold characters that would make
        // the line show another name (DisplayText).
        let shownName = DisplayText.escaped(name) + (entry.type == .dir ? "/" : "")
        guard long else { return shownName }
        let replication = entry.type == .file ? String(entry.replication) : "-"
        let size = humanSizes ? ByteSize.format(entry.size) : String(entry.size)
        let paddedSize = String(repeating: " ", count: max(0, 12 - size.count)) + size
        let owner = "\(entry.uid.map(String.init) ?? "-"):\(entry.gid.map(String.init) ?? "-")"
        let link = entry.target.map { " -> " + DisplayText.escaped($0) } ?? ""
        return "\(entry.modeString)  \(owner)  \(replication)  \(paddedSize)  \(Self.stamp(entry.mtime))  \(shownName)\(link)"
    }

    /// `2026-11-25 19:04:05`, UTC. By hand: Foundation's formatter costs more than the
    /// rest of a 10,000-entry listing.
    static func stamp(_ mtime: Double) -> String {
        var seconds = time_t(mtime.isFinite ? mtime : 0)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    static func entryJSON(_ entry: FileInfo, encoder: JSONEncoder) -> String {
        (try? jsonText(FileInfoJSON(listed: entry), encoder: encoder)) ?? "{}"
    }
}
