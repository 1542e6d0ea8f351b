import DFSCore
import Foundation
import Testing

@testable import DFSS3

/// ``S3Listing`` over an in-memory namespace served three entries a page, against a
/// brute-force reference: every file key sorted by bytes, filtered, grouped.
@Suite struct S3ListingTests {
    /// A namespace: folders and what each holds (name, kind), sorted by name bytes.
    final class Tree: Sendable {
        enum Kind: Sendable { case file(Int), folder, link }
        let entries: [DFSPath: [(name: String, kind: Kind)]]
        let reads = Mutex(0)
        init(_ entries: [DFSPath: [(name: String, kind: Kind)]]) { self.entries = entries }

        func page(_ folder: DFSPath, after: String?, limit: Int) throws -> ListOK {
            reads.withLock { $0 += 1 }
            guard let all = entries[folder] else {
                // Listing a file or a link is refused, as the meta server refuses it.
                if let parent = folder.parent, entries[parent]?.contains(where: { $0.name == folder.name }) == true {
                    throw DFSError(.invalidArgument, "\(folder) is not a folder")
                }
                throw DFSError(.notFound, "no such folder: \(folder)")
            }
            let sorted = all.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
            let rest = sorted.filter { after == nil || Array(after!.utf8).lexicographicallyPrecedes(Array($0.name.utf8)) }
            let shown = rest.prefix(min(limit, 3))
            let infos = try shown.map { name, kind -> FileInfo in
                let path = try folder.appending(name)
                switch kind {
                case .file(let size): return FileInfo(path: path, type: .file, size: size, mtime: 1, replication: 1, blockBytes: 1024, etag: "e\(size)")
                case .folder: return FileInfo(path: path, type: .dir, size: 0, mtime: 1, replication: 0, blockBytes: 0)
                case .link: return FileInfo(path: path, type: .link, size: 1, mtime: 1, replication: 1, blockBytes: 0, target: "x")
                }
            }
            return ListOK(
                info: FileInfo(path: folder, type: .dir, size: 0, mtime: 1, replication: 0, blockBytes: 0), entries: infos, more: rest.count > shown.count)
        }

        /// Every file's key under the bucket folder `/b`.
        func keys() -> [String] {
            var result: [String] = []
            func walk(_ folder: DFSPath, _ key: String) {
                for (name, kind) in entries[folder] ?? [] {
                    switch kind {
                    case .file: result.append(key + name)
                    case .folder: walk(try! folder.appending(name), key + name + "/")
                    case .link: break
                    }
                }
            }
            walk(try! DFSPath("/b"), "")
            return result.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        }
    }

    static func less(_ a: String, _ b: String) -> Bool { Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }

    /// What S3 returns: keys and common prefixes in byte order, past startAfter, at most maxKeys.
    static func reference(_ keys: [String], _ request: S3ListRequest) -> (items: [String], prefixes: Set<String>, truncated: Bool) {
        var items: [String] = []
        var prefixes = Set<String>()
        for key in keys where key.hasPrefix(request.prefix) {
            var item = key
            if let delimiter = request.delimiter, !delimiter.isEmpty, let range = key.dropFirst(request.prefix.count).range(of: delimiter) {
                item = String(key[..<range.upperBound])
                prefixes.insert(item)
            }
            if let after = request.startAfter, !less(after, item) { continue }
            if items.last != item { items.append(item) }
        }
        let truncated = items.count > request.maxKeys
        return (Array(items.prefix(request.maxKeys)), prefixes, truncated)
    }

    static func randomTree(_ generator: inout SplitMix64) -> Tree {
        let names = ["a", "a-b", "a.txt", "a0", "a b", "b", "ab", "é", "z+1", "a!", "c"]
        var entries: [DFSPath: [(name: String, kind: Tree.Kind)]] = [try! DFSPath("/b"): []]
        func fill(_ folder: DFSPath, depth: Int) {
            var chosen: [(name: String, kind: Tree.Kind)] = []
            for name in names where generator.next() % 3 == 0 {
                let roll = generator.next() % 10
                if depth < 3 && roll < 4 {
                    chosen.append((name, .folder))
                    let path = try! folder.appending(name)
                    entries[path] = []
                    fill(path, depth: depth + 1)
                } else if roll == 4 {
                    chosen.append((name, .link))
                } else {
                    chosen.append((name, .file(Int(generator.next() % 100))))
                }
            }
            entries[folder] = chosen
        }
        fill(try! DFSPath("/b"), depth: 0)
        return Tree(entries)
    }

    @Test func randomTreesAndRequestsMatchTheReference() async throws {
        let seed = ProcessInfo.processInfo.environment["DFS_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("S3ListingTests seed \(seed) (DFS_TEST_SEED replays it)")
        var generator = SplitMix64(seed: seed)
        let prefixes = ["", "a", "a/", "a-", "a/a", "b/", "é", "a/a0/", "zzz", "a0"]
        for round in 0..<150 {
            let tree = Self.randomTree(&generator)
            let keys = tree.keys()
            let delimiter = [nil, "/", "-"][Int(generator.next() % 3)]
            let prefix = prefixes[Int(generator.next() % UInt64(prefixes.count))]
            let startAfter: String? = generator.next() % 3 == 0 && !keys.isEmpty ? keys[Int(generator.next() % UInt64(keys.count))] : nil
            let request = S3ListRequest(bucket: "b", prefix: prefix, delimiter: delimiter, startAfter: startAfter, maxKeys: 1 + Int(generator.next() % 7))
            let page = try await S3Listing.list(request) { folder, after, limit in try tree.page(folder, after: after, limit: limit) }
            let expected = Self.reference(keys, request)
            let got = (page.objects.map(\.key) + page.commonPrefixes).sorted(by: Self.less)
            #expect(got == expected.items, "round \(round) seed \(seed): \(request) keys \(keys)")
            #expect(page.isTruncated == expected.truncated, "round \(round) seed \(seed): \(request)")
            #expect(Set(page.commonPrefixes).isSubset(of: expected.prefixes), "round \(round)")
            // Pages one after another give everything once, in order.
            var all: [String] = []
            var after: String?
            for _ in 0..<100 {
                let next = try await S3Listing.list(
                    S3ListRequest(bucket: "b", prefix: prefix, delimiter: delimiter, startAfter: after, maxKeys: 2)
                ) { folder, after, limit in try tree.page(folder, after: after, limit: limit) }
                all += (next.objects.map(\.key) + next.commonPrefixes).sorted(by: Self.less)
                guard next.isTruncated, let last = next.last else { break }
                after = last
            }
            let whole = Self.reference(keys, S3ListRequest(bucket: "b", prefix: prefix, delimiter: delimiter, maxKeys: 100_000))
            #expect(all == whole.items, "round \(round) seed \(seed): paging \(prefix) \(delimiter ?? "-")")
        }
    }

    @Test func foldersSortAsIfTheirNamesEndedInASlash() async throws {
        let tree = Tree([
            try DFSPath("/b"): [
                ("a", .folder), ("a-c", .file(1)), ("a.txt", .file(2)), ("a0", .file(3)), ("empty", .folder), ("l", .link), ("links", .folder),
            ],
            try DFSPath("/b/links"): [("to-a", .link), ("sub", .folder)],
            try DFSPath("/b/links/sub"): [("to-b", .link)],
            try DFSPath("/b/a"): [("b", .file(4))],
            try DFSPath("/b/empty"): [("deeper", .folder)],
            try DFSPath("/b/empty/deeper"): [],
        ])
        let all = try await S3Listing.list(S3ListRequest(bucket: "b")) { folder, after, limit in try tree.page(folder, after: after, limit: limit) }
        #expect(all.objects.map(\.key) == ["a-c", "a.txt", "a/b", "a0"])
        #expect(all.objects.map(\.etag) == ["e1", "e2", "e4", "e3"])
        let grouped = try await S3Listing.list(S3ListRequest(bucket: "b", delimiter: "/")) { folder, after, limit in
            try tree.page(folder, after: after, limit: limit)
        }
        // A folder with no file under it (links and folders only) is no common prefix; a
        // link is no object, and is never listed as a folder.
        #expect(grouped.objects.map(\.key) == ["a-c", "a.txt", "a0"])
        #expect(grouped.commonPrefixes == ["a/"])
        let none = try await S3Listing.list(S3ListRequest(bucket: "b", maxKeys: 0)) { folder, after, limit in
            try tree.page(folder, after: after, limit: limit)
        }
        #expect(none.objects.isEmpty && none.isTruncated)
        await #expect(throws: DFSError.self) {
            try await S3Listing.list(S3ListRequest(bucket: "missing")) { folder, after, limit in try tree.page(folder, after: after, limit: limit) }
        }
    }

    /// A prefix deep in a wide tree reads the folders on its path, not the others.
    @Test func aDeepPrefixReadsOnlyItsPath() async throws {
        var entries: [DFSPath: [(name: String, kind: Tree.Kind)]] = [:]
        entries[try DFSPath("/b")] = (0..<30).map { ("d\($0)", .folder) }
        for index in 0..<30 { entries[try DFSPath("/b/d\(index)")] = (0..<30).map { ("f\($0)", .file($0)) } }
        let tree = Tree(entries)
        let page = try await S3Listing.list(S3ListRequest(bucket: "b", prefix: "d17/f2")) { folder, after, limit in
            try tree.page(folder, after: after, limit: limit)
        }
        #expect(page.objects.map(\.key) == ["d17/f2"] + (20..<30).map { "d17/f\($0)" })
        #expect(tree.reads.withLock { $0 } < 20, "\(tree.reads.withLock { $0 }) page reads")
    }
}
