/// A row of the namespace whose path, parent and name disagree, or whose folder is missing:
/// what an older version could store (it split paths on characters, so `/x/` + U+0301 + `y`
/// became one name under `/`), or a hand-edited database. Such a row lists in the wrong
/// folder or in none, and a prefix match can move or remove it with the wrong folder.
public struct PathProblem: Codable, Hashable, Sendable {
    public var type: EntryType
    /// The row's columns as stored (not ``DFSPath``: a stored path may not be a valid one).
    public var path: String
    public var parent: String
    public var name: String
    /// What is wrong, in a sentence.
    public var problem: String
    public init(type: EntryType, path: String, parent: String, name: String, problem: String) {
        self.type = type
        self.path = path
        self.parent = parent
        self.name = name
        self.problem = problem
    }
}

/// The rows of ``PathProblem`` that fsck found: how many, and the first of them.
public struct PathProblems: Codable, Hashable, Sendable {
    /// Every such row found under the checked path.
    public var count: Int
    /// At most ``FsckOK/listed`` of them.
    public var rows: [PathProblem]
    public init(count: Int, rows: [PathProblem]) {
        self.count = count
        self.rows = rows
    }
}
