import DFSClient
import DFSCore

/// One entry of a folder listing as the kernel gets it.
struct DirectoryEntry: Sendable {
    var name: String
    /// Nil for `.` and `..`, whose attributes readdirplus does not send.
    var info: FileInfo?
    /// The offset the kernel passes back to go on after this entry.
    var nextOffset: Int
}

/// An open folder: its listing, fetched from the meta server a page at a time as the kernel
/// reads on, so a folder of any size lists in bounded memory.
///
/// Offsets are positions in this handle's listing: 0 is `.`, 1 is `..`, 2 the first name.
/// A page continues after the last name of the one before (names are in byte order on the
/// meta server), so names added or removed meanwhile shift no later offset of this handle:
/// an offset the kernel got stays valid for as long as the folder is open. Going back (a
/// `rewinddir`, a `seekdir` before the page held) lists again from the start. Files created
/// through this mount and not uploaded yet come after the cluster's names, as a local
/// folder would list them.
actor DirectoryHandle {
    let path: DFSPath
    private let client: DFSClient
    private let pageEntries: Int
    /// The folder's files open for writing, or closed and not uploaded yet, in this mount
    /// (see ``MountService/stagedFiles(in:)``): asked for before the listing's first page,
    /// so that a file whose upload ends while the listing goes on is in the cluster's pages
    /// or among these, never in neither. Those the pages showed are dropped; the rest come
    /// after the cluster's last name.
    private let stagedFiles: @Sendable (DFSPath) async -> [FileInfo]
    private var staged: [String: FileInfo] = [:]
    private var extras: [FileInfo]?
    /// The page held, and the position of its first entry.
    private var page: [FileInfo] = []
    private var pageStart = 2
    private var more = true
    private var fetched = false

    init(
        path: DFSPath, client: DFSClient, pageEntries: Int = Limits.listEntriesMax,
        stagedFiles: @escaping @Sendable (DFSPath) async -> [FileInfo] = { _ in [] }
    ) {
        self.path = path
        self.client = client
        self.pageEntries = pageEntries
        self.stagedFiles = stagedFiles
    }

    /// Entries from `offset` to the end of the page that holds it; empty at the end.
    func entries(from offset: Int) async throws -> [DirectoryEntry] {
        var result: [DirectoryEntry] = []
        if offset == 0 { result.append(DirectoryEntry(name: ".", info: nil, nextOffset: 1)) }
        if offset <= 1 { result.append(DirectoryEntry(name: "..", info: nil, nextOffset: 2)) }
        let wanted = max(offset, 2)
        if !fetched || wanted < pageStart {
            staged = Dictionary(await stagedFiles(path).map { ($0.path.name, $0) }, uniquingKeysWith: { first, _ in first })
            extras = nil
            try await fetch(after: nil)
            pageStart = 2
        }
        while wanted >= pageStart + page.count, more {
            let last = page.last?.path.name
            let count = page.count
            try await fetch(after: last)
            pageStart += count
        }
        let first = wanted - pageStart
        if first < page.count {
            for index in first..<page.count {
                result.append(DirectoryEntry(name: page[index].path.name, info: page[index], nextOffset: pageStart + index + 1))
            }
            return result
        }
        // Past the cluster's last name: the files staged here and not uploaded yet.
        let extras = self.extras ?? staged.values.sorted { $0.path < $1.path }
        self.extras = extras
        let extrasStart = pageStart + page.count
        guard wanted - extrasStart < extras.count else { return result }
        for index in (wanted - extrasStart)..<extras.count {
            result.append(DirectoryEntry(name: extras[index].path.name, info: extras[index], nextOffset: extrasStart + index + 1))
        }
        return result
    }

    private func fetch(after: String?) async throws {
        let reply = try await client.listPage(path, after: after, limit: pageEntries)
        guard reply.info.type == .dir else {
            throw DFSError(.notADirectory, "\(path) is not a folder")
        }
        page = reply.entries
        for entry in page where !staged.isEmpty { staged[entry.path.name] = nil }
        more = reply.more && !reply.entries.isEmpty
        fetched = true
    }
}
