import DFSCore

extension MetaStore {
    /// Rows of `files` and `dirs` under `path` whose path, parent and name disagree, or whose
    /// folder does not exist (complete files and folders only: a pending file's folders are
    /// made when it completes); nil when there are none. Lists at most `limit` of them.
    ///
    /// SQL finds them: a row agrees with itself when its name is one name (not empty, `.` or
    /// `..`, no `/`), its parent is an absolute path and its path is the parent, `/` and the
    /// name, without an empty part, a control character or a part over the limits (such a
    /// row no ``DFSPath`` can name: it cannot even be listed). `=` and the position of a text work on bytes, as ``DFSPath`` does, and
    /// the scan costs one pass over each table.
    public func pathProblems(under path: DFSPath, limit: Int) throws(DFSError) -> PathProblems? {
        let sql = database.dialect
        let agrees = """
            entry.name NOT IN ('', '.', '..') AND \(sql.position(of: "'/'", in: "entry.name")) = 0 AND substr(entry.parent, 1, 1) = '/'
            AND \(sql.position(of: "'//'", in: "entry.path")) = 0
            AND entry.path = (CASE WHEN entry.parent = '/' THEN '' ELSE entry.parent END) || '/' || entry.name
            AND NOT (\(sql.holdsControlCharacter("entry.path")))
            AND \(sql.byteLength("entry.name")) <= \(Limits.nameBytesMax) AND \(sql.byteLength("entry.path")) <= \(Limits.pathBytesMax)
            """
        let orphan = "entry.parent <> '/' AND NOT EXISTS (SELECT 1 FROM dirs AS folder WHERE folder.path = entry.parent)"
        let scope = path.isRoot ? "1 = 1" : "(entry.path = ?1 OR substr(entry.path, 1, length(?1) + 1) = ?1 || '/')"
        let values: [SQLValue] = path.isRoot ? [] : [.text(path.string)]
        var count = 0
        var rows: [PathProblem] = []
        for (table, type, complete) in [("dirs", EntryType.dir, "1 = 1"), ("files", EntryType.file, "entry.complete = 1")] {
            let condition = "\(scope) AND (NOT (\(agrees)) OR (\(complete) AND \(orphan)))"
            count += try database.query("SELECT count(*) FROM \(table) AS entry WHERE \(condition)", values) { $0.int(0) }.first ?? 0
            guard rows.count < limit else { continue }
            rows += try database.query(
                // The limit is bound, not written into the SQL: each distinct text would stay
                // in the statement cache.
                "SELECT entry.path, entry.parent, entry.name FROM \(table) AS entry WHERE \(condition) ORDER BY entry.path LIMIT ?\(values.count + 1)",
                values + [.int(limit - rows.count)]
            ) { row in
                let (path, parent, name) = (row.text(0), row.text(1), row.text(2))
                return PathProblem(type: type, path: path, parent: parent, name: name, problem: Self.pathProblem(path: path, parent: parent, name: name))
            }
        }
        return count == 0 ? nil : PathProblems(count: count, rows: rows)
    }

    /// What is wrong with a row that SQL found inconsistent, in a sentence.
    static func pathProblem(path text: String, parent: String, name: String) -> String {
        let path: DFSPath
        do {
            path = try DFSPath(text)
        } catch {
            return "its path is not a valid path: \(error.message)"
        }
        guard let pathParent = path.parent else { return "it is a row for the root folder, which has none" }
        guard path.string.utf8.elementsEqual(text.utf8) else {
            return "its path is not in normal form (\(path.string))"
        }
        if !pathParent.string.utf8.elementsEqual(parent.utf8) || !path.name.utf8.elementsEqual(name.utf8) {
            return "its path puts it in \(pathParent.string) as '\(path.name)', but the row says in \(parent) as '\(name)'"
        }
        return "its folder \(parent) does not exist"
    }
}
