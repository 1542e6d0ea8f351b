import DFSCore

/// One page of a folder's entries, sorted by name bytes, after `after` (exclusive; nil: from
/// the start), at most `limit`: what `DFSClient.listPage` returns. A folder that does not
/// exist throws `DFSError` `.notFound`.
public typealias S3FolderPages = @Sendable (_ folder: DFSPath, _ after: String?, _ limit: Int) async throws -> ListOK

public struct S3ListRequest: Sendable {
    public var bucket: String
    /// Keys returned start with it; "" for all.
    public var prefix: String
    /// nil or "" for none. "/" is walked folder by folder; another string groups the keys.
    public var delimiter: String?
    /// Only keys and common prefixes greater than it are returned.
    public var startAfter: String?
    /// Keys and common prefixes together, 0 to 1,000.
    public var maxKeys: Int
    public init(bucket: String, prefix: String = "", delimiter: String? = nil, startAfter: String? = nil, maxKeys: Int = 1000) {
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.startAfter = startAfter
        self.maxKeys = maxKeys
    }
}

public struct S3ListedObject: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var mtime: Double
    public var etag: String?
    public init(key: String, size: Int, mtime: Double, etag: String?) {
        self.key = key
        self.size = size
        self.mtime = mtime
        self.etag = etag
    }
}

public struct S3ListPage: Sendable {
    public var objects: [S3ListedObject] = []
    public var commonPrefixes: [String] = []
    public var isTruncated = false
    /// The greatest key or common prefix returned: a request with `startAfter` set to it
    /// goes on right after it. Nil when nothing was returned.
    public var last: String?
}

/// A bucket's keys in S3's order, which is the order of their UTF-8 bytes, from the
/// namespace, where a bucket is a folder and a key a path under it.
///
/// A walk of folders in name order does not give that order: the keys of a folder `a`
/// (`a/...`) sort after a sibling `a-c` or `a.txt` and before `a0`, so a folder is visited
/// where `a/` would sort among its siblings, once the walk has passed every name below it.
/// Only folders that can hold a key matching the prefix and past `startAfter` are read,
/// from the page where such names start. With the delimiter `/`, a folder below the prefix
/// is a common prefix, not walked, and shown only when a file lies somewhere under it (S3
/// has no empty folders): that costs a read of its first pages, deeper only while they
/// hold folders alone. Links and folders are never objects.
public enum S3Listing {
    /// Entries read per page.
    static let pageEntries = Limits.listEntriesMax
    /// Folders an emptiness check reads at most; beyond, the folder counts as not empty.
    static let emptinessFoldersMax = 1000

    /// True when an entry `matching` lies somewhere under `folder`, read a page at a time,
    /// depth first, folders only descended into; past `foldersMax` folders read, true (the
    /// caller then treats the folder as not empty). A folder gone meanwhile holds nothing.
    static func holds(
        under folder: DFSPath, pages: S3FolderPages, foldersMax: Int, _ matching: (FileInfo) -> Bool
    ) async throws -> Bool {
        var waiting = [folder]
        var read = 0
        while let next = waiting.popLast() {
            read += 1
            if read > foldersMax { return true }
            var after: String?
            while true {
                let listing: ListOK
                do {
                    listing = try await pages(next, after, pageEntries)
                } catch let error as DFSError where error.code == .notFound {
                    break
                }
                if listing.entries.contains(where: matching) { return true }
                waiting += listing.entries.filter { $0.type == .dir }.map(\.path)
                guard listing.more, let last = listing.entries.last else { break }
                after = last.path.name
            }
        }
        return false
    }

    public static func list(_ request: S3ListRequest, pages: @escaping S3FolderPages) async throws -> S3ListPage {
        let bucket = try DFSPath.root.appending(request.bucket)
        var walk = Walk(request: request, pages: pages)
        do {
            _ = try await walk.folder(bucket, key: [])
        } catch let error as DFSError where error.code == .notFound {
            // The bucket must exist; a folder under it that vanished mid-walk is just empty.
            _ = try await pages(bucket, nil, 1)
        }
        return walk.page
    }

    /// The state of one listing: what is collected, and where to stop.
    private struct Walk {
        let prefix: [UInt8]
        let delimiter: [UInt8]?
        let startAfter: [UInt8]?
        let maxKeys: Int
        let pages: S3FolderPages
        var page = S3ListPage()
        var count = 0
        /// The common prefix last emitted for a delimiter other than `/`.
        var lastGroup: [UInt8]?

        init(request: S3ListRequest, pages: @escaping S3FolderPages) {
            prefix = Array(request.prefix.utf8)
            delimiter = request.delimiter.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
            startAfter = request.startAfter.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
            maxKeys = max(0, min(request.maxKeys, 1000))
            self.pages = pages
        }

        var slashDelimited: Bool { delimiter == [UInt8(ascii: "/")] }

        /// Walks `folder`, whose keys start with `key` (empty for the bucket, else ending in
        /// `/`). False once the page is full.
        mutating func folder(_ folder: DFSPath, key: [UInt8]) async throws -> Bool {
            var pending: [(sortKey: [UInt8], path: DFSPath)] = []
            var after = Self.firstName(before: [prefix, startAfter ?? []], within: key)
            while true {
                let listing: ListOK
                do {
                    listing = try await pages(folder, after.map { String(decoding: $0, as: UTF8.self) }, S3Listing.pageEntries)
                } catch let error as DFSError where error.code == .notFound && !key.isEmpty {
                    return true
                }
                for entry in listing.entries {
                    let name = Array(entry.path.name.utf8)
                    let entryKey = key + name
                    // Folders whose turn came (their keys sort below this entry) first.
                    while let first = pending.first, first.sortKey.lexicographicallyPrecedes(entryKey) {
                        pending.removeFirst()
                        guard try await visitFolder(first.path, key: first.sortKey) else { return false }
                    }
                    // An entry whose keys cannot start with the prefix is passed over; once
                    // one sorts past every such key, so does the rest of the folder.
                    let keySpace = entry.type == .dir ? entryKey + [UInt8(ascii: "/")] : entryKey
                    if !Self.mayMatch(keySpace, prefix: prefix) {
                        // A folder's keys (`name/...`) may sort after names that follow it
                        // (`name-b`): only a file past the prefix's keys ends the folder.
                        guard entry.type != .dir, prefix.lexicographicallyPrecedes(keySpace) else { continue }
                        for folder in pending { guard try await visitFolder(folder.path, key: folder.sortKey) else { return false } }
                        return true
                    }
                    switch entry.type {
                    case .file: guard try await object(entry, key: entryKey) else { return false }
                    case .dir:
                        let sortKey = entryKey + [UInt8(ascii: "/")]
                        let index = pending.firstIndex { sortKey.lexicographicallyPrecedes($0.sortKey) } ?? pending.endIndex
                        pending.insert((sortKey, entry.path), at: index)
                    case .link: continue
                    }
                }
                guard listing.more, let last = listing.entries.last else { break }
                after = Array(last.path.name.utf8)
            }
            for folder in pending { guard try await visitFolder(folder.path, key: folder.sortKey) else { return false } }
            return true
        }

        /// A folder whose keys start with `key` (ending in `/`): skipped, a common prefix, or walked.
        private mutating func visitFolder(_ folder: DFSPath, key: [UInt8]) async throws -> Bool {
            // Nothing under it can match the prefix.
            guard key.starts(with: prefix) || prefix.starts(with: key) else { return true }
            // Everything under it is at or before startAfter.
            if let startAfter, !startAfter.starts(with: key), key.lexicographicallyPrecedes(startAfter) { return true }
            if slashDelimited, key.count > prefix.count, key.starts(with: prefix) {
                // The first `/` after the prefix ends this folder's key: one common prefix.
                if let startAfter, !startAfter.lexicographicallyPrecedes(key) { return true }
                guard try await S3Listing.holds(under: folder, pages: pages, foldersMax: S3Listing.emptinessFoldersMax, { $0.type == .file }) else {
                    return true
                }
                return emit(commonPrefix: key)
            }
            return try await self.folder(folder, key: key)
        }

        private mutating func object(_ entry: FileInfo, key: [UInt8]) async throws -> Bool {
            guard key.starts(with: prefix) else { return true }
            if let startAfter, !startAfter.lexicographicallyPrecedes(key) { return true }
            if let delimiter, !slashDelimited, let range = Self.range(of: delimiter, in: key, from: prefix.count) {
                let group = Array(key[..<range.upperBound])
                if group == lastGroup { return true }
                if let startAfter, !startAfter.lexicographicallyPrecedes(group) { return true }
                lastGroup = group
                return emit(commonPrefix: group)
            }
            return emit(object: S3ListedObject(key: String(decoding: key, as: UTF8.self), size: entry.size, mtime: entry.mtime, etag: entry.etag))
        }

        /// Adds one item; false once the page is full (with one more found: truncated).
        private mutating func emit(object: S3ListedObject) -> Bool {
            guard count < maxKeys else {
                page.isTruncated = true
                return false
            }
            count += 1
            page.objects.append(object)
            page.last = object.key
            return true
        }

        private mutating func emit(commonPrefix key: [UInt8]) -> Bool {
            guard count < maxKeys else {
                page.isTruncated = true
                return false
            }
            count += 1
            let text = String(decoding: key, as: UTF8.self)
            page.commonPrefixes.append(text)
            page.last = text
            return true
        }

        static func mayMatch(_ key: [UInt8], prefix: [UInt8]) -> Bool {
            key.starts(with: prefix) || prefix.starts(with: key)
        }

        static func range(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Range<Int>? {
            guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
            for index in start...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index..<(index + needle.count)
            }
            return nil
        }

        /// Where to start reading a folder whose keys start with `key`: a name just below the
        /// first name any of `bounds` (the prefix, startAfter) needs in it, or nil for the
        /// start. Each bound that goes deeper than `key` names its next component there;
        /// names before the greatest such component cannot matter. One byte less than it,
        /// so that the component itself (and names that extend it) are read.
        static func firstName(before bounds: [[UInt8]], within key: [UInt8]) -> [UInt8]? {
            var best: [UInt8]?
            for bound in bounds where bound.count > key.count && bound.starts(with: key) {
                let rest = bound[key.count...]
                let component = Array(rest.prefix { $0 != UInt8(ascii: "/") })
                guard !component.isEmpty else { continue }
                if best == nil || best!.lexicographicallyPrecedes(component) { best = component }
            }
            guard var name = best else { return nil }
            // A folder whose name is a prefix of that component followed by a byte below `/`
            // sorts after it (its keys go on with `/`): start at the shortest such name.
            if let cut = name.firstIndex(where: { $0 < UInt8(ascii: "/") }) { name.removeSubrange(cut...) }
            guard !name.isEmpty else { return nil }
            // A name sorting just before `name`: drop its last byte (and any bytes of a cut
            // character, so it stays UTF-8). Names between it and `name` are read and skipped.
            name.removeLast()
            while let last = name.last, last & 0xC0 == 0x80 { name.removeLast() }
            if let last = name.last, last >= 0xC0 { name.removeLast() }
            return name.isEmpty ? nil : name
        }
    }
}
