import DFSCore

/// The names of a few folders, recently listed, so that a lookup of a name a folder does not
/// have is answered without a round trip to the meta server.
///
/// A program that fills a folder (`cp -r`, `tar x`, `rsync`) looks up every name before it
/// creates it, and every one of those lookups finds nothing. After a second such miss in a
/// folder within the entry timeout, the mount lists the folder (a page of 1,000 names per
/// request) and, for the entry timeout from the moment the listing started, answers a
/// lookup of a name not in it with ENOENT itself, as the kernel would from a negative entry
/// it was allowed to keep that long. A folder the mount made itself starts with an empty
/// snapshot. Names this mount creates in a folder (files, folders, links, rename targets)
/// join its snapshot at once, so the mount never denies its own names; a snapshot used past
/// half its life is listed again in the background, so a long copy keeps one.
///
/// Only absences are answered from a snapshot: a name it holds is looked up in the cluster
/// as before (its attributes may have changed). Folders of more than ``folderNamesMax``
/// names get no snapshot; at most ``foldersMax`` folders and ``namesMax`` names are held,
/// least recently used out first. An entry timeout of 0 turns snapshots off.
struct FolderSnapshots {
    static let foldersMax = 64
    static let namesMax = 262_144
    static let folderNamesMax = 65_536
    /// Misses in a folder, within the entry timeout, before it is listed.
    static let missesBeforeListing = 2

    private enum State {
        /// A listing started at `started` is under way; names made meanwhile are `added`.
        case listing(started: ContinuousClock.Instant, added: Set<[UInt8]>)
        /// Names as of `takenAt` (when the listing started), with this mount's since.
        case ready(names: Set<[UInt8]>, takenAt: ContinuousClock.Instant, refreshing: Bool)
        /// Too large to hold, found at `since`: not listed again for a while.
        case tooLarge(since: ContinuousClock.Instant)
    }

    private struct Folder {
        var state: State
        var lastUse: ContinuousClock.Instant
    }

    let window: Duration
    private var folders: [[UInt8]: Folder] = [:]
    private var misses: [[UInt8]: (count: Int, since: ContinuousClock.Instant)] = [:]
    private(set) var heldNames = 0

    init(window: Duration) {
        self.window = window
    }

    var enabled: Bool { window > .zero }

    /// What a snapshot says of `path`: true when it is surely absent, false when the cluster
    /// must be asked. `refresh` is set when the folder should be listed again now (its
    /// snapshot is past half its life; the caller lists it in the background).
    mutating func isAbsent(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> (absent: Bool, refresh: Bool) {
        guard enabled, let parent = path.parent else { return (false, false) }
        let key = Self.key(parent)
        guard var folder = folders[key], case .ready(let names, let takenAt, let refreshing) = folder.state else { return (false, false) }
        let age = now - takenAt
        guard age < window else {
            folders[key] = nil
            heldNames -= names.count
            return (false, false)
        }
        folder.lastUse = now
        let refresh = !refreshing && age * 2 >= window
        if refresh { folder.state = .ready(names: names, takenAt: takenAt, refreshing: true) }
        folders[key] = folder
        return (!names.contains(Array(path.name.utf8)), refresh)
    }

    /// The cluster said `path` does not exist: true when its folder should now be listed
    /// (the caller lists it, then calls ``store(_:names:startedAt:)``).
    mutating func noteMiss(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> Bool {
        guard enabled, let parent = path.parent else { return false }
        let key = Self.key(parent)
        switch folders[key]?.state {
        case .listing?, .ready?: return false
        case .tooLarge(let since)?:
            guard now - since >= window * 10 else { return false }
        case nil: break
        }
        if misses.count >= Self.foldersMax * 4 { misses = misses.filter { now - $0.value.since < window } }
        if misses.count >= Self.foldersMax * 4 { misses.removeAll(keepingCapacity: true) }
        var count = 1
        if let earlier = misses[key], now - earlier.since < window { count = earlier.count + 1 }
        guard count >= Self.missesBeforeListing else {
            misses[key] = (count, misses[key].map { now - $0.since < window ? $0.since : now } ?? now)
            return false
        }
        misses[key] = nil
        startListing(key, at: now)
        return true
    }

    /// A listing of `folder` that started at `startedAt` found `names` (nil: too many).
    mutating func store(_ folder: DFSPath, names: [[UInt8]]?, startedAt: ContinuousClock.Instant) {
        let key = Self.key(folder)
        var added: Set<[UInt8]> = []
        switch folders[key]?.state {
        case .listing(_, let made)?: added = made
        case .ready(let held, _, _)?:
            // A refresh: names this mount made while it ran may be missing from it, so the
            // held names stay too (a name held that is gone costs only a lookup).
            heldNames -= held.count
            added = held
        default: return
        }
        guard let names else {
            folders[key] = Folder(state: .tooLarge(since: startedAt), lastUse: startedAt)
            return
        }
        let all = added.union(names)
        folders[key] = Folder(state: .ready(names: all, takenAt: startedAt, refreshing: false), lastUse: startedAt)
        heldNames += all.count
        evict()
    }

    /// A listing failed: the folder is looked up in the cluster again, as before.
    mutating func listingFailed(_ folder: DFSPath) {
        let key = Self.key(folder)
        if case .ready(let names, _, _)? = folders[key]?.state { heldNames -= names.count }
        folders[key] = nil
    }

    /// A folder this mount just made, empty as of `since` (when it checked it did not exist).
    mutating func madeFolder(_ folder: DFSPath, since: ContinuousClock.Instant) {
        guard enabled else { return }
        let key = Self.key(folder)
        if case .ready(let names, _, _)? = folders[key]?.state { heldNames -= names.count }
        folders[key] = Folder(state: .ready(names: [], takenAt: since, refreshing: false), lastUse: since)
        evict()
    }

    /// This mount made `path` (a file, folder or link, or a rename's target).
    mutating func added(_ path: DFSPath) {
        guard let parent = path.parent, var folder = folders[Self.key(parent)] else { return }
        let name = Array(path.name.utf8)
        switch folder.state {
        case .listing(let started, var made):
            made.insert(name)
            folder.state = .listing(started: started, added: made)
        case .ready(var names, let takenAt, let refreshing):
            if names.insert(name).inserted { heldNames += 1 }
            folder.state = .ready(names: names, takenAt: takenAt, refreshing: refreshing)
        case .tooLarge: return
        }
        folders[Self.key(parent)] = folder
        evict()
    }

    /// `path` was removed or moved away by this mount: a snapshot of it, or of any folder
    /// under it, no longer describes what that path will hold.
    mutating func removed(_ path: DFSPath) {
        let prefix = Self.key(path)
        for (key, folder) in folders where key == prefix || (key.count > prefix.count && key.starts(with: prefix) && key[prefix.count] == UInt8(ascii: "/")) {
            if case .ready(let names, _, _) = folder.state { heldNames -= names.count }
            folders[key] = nil
        }
    }

    private mutating func startListing(_ key: [UInt8], at now: ContinuousClock.Instant) {
        folders[key] = Folder(state: .listing(started: now, added: []), lastUse: now)
    }

    /// Drops least recently used folders while more than the bounds are held.
    private mutating func evict() {
        while folders.count > Self.foldersMax || heldNames > Self.namesMax {
            guard let oldest = folders.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
            if case .ready(let names, _, _) = oldest.value.state { heldNames -= names.count }
            folders[oldest.key] = nil
        }
    }

    private static func key(_ path: DFSPath) -> [UInt8] { Array(path.string.utf8) }
}
