import DFSCore

/// Rewrites packs that deletions left at least half empty, in the background. The node's
/// state (``DataServerState``) runs one compaction at a time and decides when it is over.
struct PackCompactor: Sendable {
    let store: BlockStore

    /// Whether some pack is worth compacting.
    var hasWork: Bool { !store.packsToCompact.isEmpty }

    /// Whether every pack worth compacting is one that could not be.
    func isFinished(skipping failed: Set<String>) -> Bool {
        store.packsToCompact.allSatisfy { failed.contains($0) }
    }

    /// Compacts in rounds until `finished` says so after one. Deletions that come after a
    /// round's look (their own start found this compaction running) are taken by the next
    /// round; packs that could not be compacted are not tried again here.
    func run(until finished: @Sendable (Set<String>) async -> Bool) async {
        var failed = Set<String>()
        while true {
            failed = await store.compactPacks(skipping: failed)
            if await finished(failed) { return }
        }
    }
}
