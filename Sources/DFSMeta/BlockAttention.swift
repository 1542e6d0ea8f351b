/// How urgently a block needs a look, as the `blocks.attention` column computes it from the
/// counts kept with each block (see `MetaSchema+Health`). A healthy block has none.
///
/// The order is the repair loop's, as in HDFS's `UnderReplicatedBlocks`: a block down to one
/// good replica first, since the next loss loses it; blocks with no good replica last, since
/// there is nothing to copy them from. The same rules as ``BlockHealth/kind`` and
/// ``BlockHealth/isNoteworthy``, which the store's tests hold the column to.
public enum BlockAttention: Int, CaseIterable, Sendable {
    /// Fewer good replicas on live nodes than its file asks for, and only one.
    case oneGoodLeft = 0
    /// Fewer good replicas on live nodes than its file asks for, more than one.
    case underReplicated = 1
    /// As many good replicas as asked for or more, with extras, corrupt or suspect ones: the
    /// repair loop may drop some.
    case unsettled = 2
    /// No good replica on a live node and no corrupt one either.
    case missing = 3
    /// No good replica on a live node, a corrupt one on a live node.
    case corrupt = 4

    /// The classes the repair loop can act on, most urgent first: a block with no good
    /// replica has no source to copy from and no corrupt replica it may drop.
    static let repairable: [BlockAttention] = [.oneGoodLeft, .underReplicated, .unsettled]

    /// The classes `fsck` reports as problems.
    static let problems: [BlockAttention] = [.oneGoodLeft, .underReplicated, .missing, .corrupt]
}
