import DFSCore

/// The names of a few folders, recently listed, so that a lookup of a name a folder does not
/// have is answered without a round trip to the meta server.
///
/// A program that fills a folder (`cp -r`, `tar x`, `rsync`) looks up every name before it
/// creates it, and every one of those lookups finds nothing. After a second such miss in a
/// folder within the entry timeout (or ``findsBeforeListing`` lookups the cluster answered
/// with a file, as a `stat` of every file makes), the mount lists the folder (a page of
/// 1,000 names per request) and, for the entry timeout from the moment the listing started, answers a
/// lookup of a name not in it with ENOENT itself, as the kernel would from a negative entry
/// it was allowed to keep that long. A folder the mount made itself starts with an empty
/// snapshot. Names this mount creates in a folder (files, folders, links, rename targets)
/// join its snapshot at once, so the mount never denies its own names; a snapshot used past
/// three quarters of its life is listed again in the background, so a long copy keeps one
/// (at half its life, a `cp -r` of 10,000 files spent 5% of the mount's CPU decoding listings).
///
/// A name the listing found comes with its attributes, which answer a lookup for the
/// attribute timeout from the moment the listing started, as the kernel keeps those of a
/// readdirplus: a `stat` of every file of a large folder after an `ls -l` otherwise asked the
/// meta server once per file as soon as the kernel's own entries expired (1,700 stats/s over
/// 10,000 files against 20,000/s over 1,000). A name this mount changes (writes, uploads,
/// chmod, removes, renames) or makes is held without attributes from then on, so a lookup of
/// it asks the cluster; a listing that started before the change does not give them back.
/// Folders of more than ``folderNamesMax``
/// names get no snapshot; at most ``foldersMax`` folders and ``namesMax`` names are held,
/// least recently used out first. An entry timeout of 0 turns snapshots off.
struct FolderSnapshots {
    static let foldersMax = 64
    static let namesMax = 262_144
    static let folderNamesMax = 65_536
    /// Misses in a folder, within the entry timeout, before it is listed.
    static let missesBeforeListing = 2
    /// Names found by asking the cluster, within the entry timeout, before their folder is
    /// listed (as `stat` of every file of a folder asks, once the kernel's entries expired).
    static let findsBeforeListing = 16

    private enum Phase {
        /// A listing started at `started` is under way; `names` holds those made meanwhile.
        case listing(started: ContinuousClock.Instant)
        /// `names` as of `takenAt` (when the listing started), with this mount's since.
        case ready(takenAt: ContinuousClock.Instant, refreshing: Bool)
        /// Too large to hold, found at `since`: not listed again for a while.
        case tooLarge(since: ContinuousClock.Instant)
    }

    /// A name a snapshot holds: what the listing said of it, unless this mount changed it
    /// since (`changedAt`), or made it.
    struct Name {
        /// What the listing said of it (its inode 0: the caller gives the name's own).
        var listed: Attributes?
        var changedAt: ContinuousClock.Instant?
    }

    /// A folder's names live beside its phase, not inside it, so that adding one changes the
    /// dictionary in place (one held in an enum's payload is copied whole on every insert).
    private struct Folder {
        var phase: Phase
        var names: [[UInt8]: Name] = [:]
        var lastUse: ContinuousClock.Instant
    }

    let window: Duration
    /// How long a listed name's attributes answer lookups (the attribute timeout).
    let attributeWindow: Duration
    private var folders: [[UInt8]: Folder] = [:]
    private var misses: [[UInt8]: (count: Int, since: ContinuousClock.Instant)] = [:]
    private(set) var heldNames = 0

    init(window: Duration, attributeWindow: Duration = .zero) {
        self.window = window
        self.attributeWindow = attributeWindow
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
        return (folder.names[Array(path.name.utf8)] == nil, refresh)
    }

    /// The attributes the last listing of `path`'s folder gave it, while they may answer a
    /// lookup: within both windows of the listing's start, and not changed here since.
    func listed(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> Attributes? {
        guard enabled, attributeWindow > .zero, let parent = path.parent, let folder = folders[Self.key(parent)],
            case .ready(let takenAt, _) = folder.phase, now - takenAt < window, now - takenAt < attributeWindow
        else { return nil }
        return folder.names[Array(path.name.utf8)]?.listed
    }

    /// The cluster said `path` does not exist: true when its folder should now be listed
    /// (the caller lists it, then calls ``store(_:names:startedAt:)``).
    mutating func noteMiss(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> Bool {
        noteAsked(path, weight: Self.findsBeforeListing / Self.missesBeforeListing, at: now)
    }

    /// The cluster was asked for `path` and had it: true when its folder should now be
    /// listed, as for ``noteMiss(_:at:)``.
    mutating func noteFound(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> Bool {
        noteAsked(path, weight: 1, at: now)
    }

    /// Counts a lookup the cluster answered, `weight` towards ``findsBeforeListing``.
    private mutating func noteAsked(_ path: DFSPath, weight: Int, at now: ContinuousClock.Instant) -> Bool {
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
        var count = weight
        if let earlier = misses[key], now - earlier.since < window { count = earlier.count + weight }
        guard count >= Self.findsBeforeListing else {
            misses[key] = (count, misses[key].map { now - $0.since < window ? $0.since : now } ?? now)
            return false
        }
        misses[key] = nil
        startListing(key, at: now)
        return true
    }

    /// A listing of `folder` that started at `startedAt` found `names` (nil: too many), each
    /// with what it said of it.
    mutating func store(_ folder: DFSPath, names: [(name: [UInt8], listed: Attributes?)]?, startedAt: ContinuousClock.Instant) {
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
        for (name, listed) in names {
            // A name changed here after the listing started keeps no attributes from it.
            if let changedAt = folder.names[name]?.changedAt, changedAt >= startedAt { continue }
            folder.names[name] = Name(listed: listed, changedAt: nil)
        }
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
        // In place, through the dictionary's subscript: no copy of the names.
        let previous = folders[key]?.names.updateValue(Name(listed: nil, changedAt: .now), forKey: Array(path.name.utf8))
        if previous == nil, case .ready = phase { heldNames += 1 }
        evict()
    }

    /// This mount changed what `path` is (its bytes, attributes or existence): a lookup of it
    /// asks the cluster from now on, until a listing that starts later.
    mutating func changed(_ path: DFSPath, at now: ContinuousClock.Instant = .now) {
        guard let parent = path.parent else { return }
        let key = Self.key(parent)
        let name = Array(path.name.utf8)
        guard folders[key]?.names[name] != nil else { return }
        folders[key]?.names[name] = Name(listed: nil, changedAt: now)
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
