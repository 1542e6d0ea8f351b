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
/// three quarters of its life is listed again in the background, so a long copy keeps one
/// (at half its life, a `cp -r` of 10,000 files spent 5% of the mount's CPU decoding listings).
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

    private enum Phase {
        /// A listing started at `started` is under way; `names` holds those made meanwhile.
        case listing(started: ContinuousClock.Instant)
        /// `names` as of `takenAt` (when the listing started), with this mount's since.
        case ready(takenAt: ContinuousClock.Instant, refreshing: Bool)
        /// Too large to hold, found at `since`: not listed again for a while.
        case tooLarge(since: ContinuousClock.Instant)
    }

    /// A folder's names live beside its phase, not inside it, so that adding one changes the
    /// set in place (a set held in an enum's payload is copied whole on every insert).
    private struct Folder {
        var phase: Phase
        var names: Set<[UInt8]> = []
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
    /// snapshot is past three quarters of its life; the caller lists it in the background).
    mutating func isAbsent(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> (absent: Bool, refresh: Bool) {
        guard enabled, let parent = path.parent else { return (false, false) }
        let key = Self.key(parent)
        guard let folder = folders[key], case .ready(let takenAt, let refreshing) = folder.phase else { return (false, false) }
        let age = now - takenAt
        guard age < window else {
            folders[key] = nil
            heldNames -= folder.names.count
            return (false, false)
        }
        let refresh = !refreshing && age * 4 >= window * 3
        folders[key]?.lastUse = now
        if refresh { folders[key]?.phase = .ready(takenAt: takenAt, refreshing: true) }
        return (!folder.names.contains(Array(path.name.utf8)), refresh)
    }

    /// The cluster said `path` does not exist: true when its folder should now be listed
    /// (the caller lists it, then calls ``store(_:names:startedAt:)``).
    mutating func noteMiss(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> Bool {
        guard enabled, let parent = path.parent else { return false }
        let key = Self.key(parent)
        switch folders[key]?.phase {
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
        guard var folder = folders.removeValue(forKey: key) else { return }
        switch folder.phase {
        case .listing: break
        case .ready:
            // A refresh: names this mount made while it ran may be missing from it, so the
            // held names stay too (a name held that is gone costs only a lookup).
            heldNames -= folder.names.count
        case .tooLarge:
            folders[key] = folder
            return
        }
        guard let names else {
            folders[key] = Folder(phase: .tooLarge(since: startedAt), lastUse: startedAt)
            return
        }
        folder.names.formUnion(names)
        heldNames += folder.names.count
        folders[key] = Folder(phase: .ready(takenAt: startedAt, refreshing: false), names: folder.names, lastUse: startedAt)
        evict()
    }

    /// A listing failed: the folder is looked up in the cluster again, as before.
    mutating func listingFailed(_ folder: DFSPath) {
        let key = Self.key(folder)
        if let folder = folders.removeValue(forKey: key), case .ready = folder.phase { heldNames -= folder.names.count }
    }

    /// A folder this mount just made, empty as of `since` (when it checked it did not exist).
    mutating func madeFolder(_ folder: DFSPath, since: ContinuousClock.Instant) {
        guard enabled else { return }
        let key = Self.key(folder)
        if let folder = folders[key], case .ready = folder.phase { heldNames -= folder.names.count }
        folders[key] = Folder(phase: .ready(takenAt: since, refreshing: false), lastUse: since)
        evict()
    }

    /// This mount made `path` (a file, folder or link, or a rename's target).
    mutating func added(_ path: DFSPath) {
        guard let parent = path.parent else { return }
        let key = Self.key(parent)
        guard let phase = folders[key]?.phase else { return }
        if case .tooLarge = phase { return }
        // In place, through the dictionary's subscript: no copy of the set.
        let inserted = folders[key]?.names.insert(Array(path.name.utf8)).inserted ?? false
        if inserted, case .ready = phase { heldNames += 1 }
        evict()
    }

    /// `path` was removed or moved away by this mount: a snapshot of it, or of any folder
    /// under it, no longer describes what that path will hold.
    mutating func removed(_ path: DFSPath) {
        let prefix = Self.key(path)
        for (key, folder) in folders where key == prefix || (key.count > prefix.count && key.starts(with: prefix) && key[prefix.count] == UInt8(ascii: "/")) {
            if case .ready = folder.phase { heldNames -= folder.names.count }
            folders[key] = nil
        }
    }

    private mutating func startListing(_ key: [UInt8], at now: ContinuousClock.Instant) {
        folders[key] = Folder(phase: .listing(started: now), lastUse: now)
    }

    /// Drops least recently used folders while more than the bounds are held.
    private mutating func evict() {
        while folders.count > Self.foldersMax || heldNames > Self.namesMax {
            guard let oldest = folders.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
            if case .ready = oldest.value.phase { heldNames -= oldest.value.names.count }
            folders[oldest.key] = nil
        }
    }

    private static func key(_ path: DFSPath) -> [UInt8] { Array(path.string.utf8) }
}
