/// Bounds on what one statement may send and bring back. A breach is an error
/// (``DFSError/Code/tooLarge``), never a truncated answer.
///
/// They are options rather than constants in `Limits` because a caller that knows its query
/// (a listing page, a batch of rows to import) may set tighter or looser ones per pool.
public struct PostgresLimits: Sendable, Hashable {
    /// Rows one query may return. Ten times the meta server's largest listing page
    /// (`Limits.listEntriesMax`, 1,000) leaves room for joins that return a row per block.
    public var rowsMax = 10_000
    /// Bytes of column values one query may return. A row of the namespace is a path (at
    /// most 4 KiB) and a few numbers; 10,000 of them fit in far less.
    public var resultBytesMax = 64 * 1024 * 1024
    /// Bytes of statement text. Statements are written by dfs, not typed by users; the
    /// largest are batched inserts with their values as parameters.
    public var statementBytesMax = 1024 * 1024
    /// Parameters of one statement: the protocol's Bind message counts them in 16 bits.
    public var parameterCountMax = 65_535
    /// Bytes of all parameters of one statement together. A block list of a large file is
    /// the largest value dfs stores; 64 MiB holds a million block ids many times over.
    public var parameterBytesMax = 64 * 1024 * 1024

    public init() {}
}
