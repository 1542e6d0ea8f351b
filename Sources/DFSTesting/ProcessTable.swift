import DFSSystem
import Foundation

/// What `/proc` says about other processes: whether one runs, its children, its command
/// line. For test servers that are not this process's children (a daemon such as
/// PostgreSQL's postmaster, started by `pg_ctl`).
public enum ProcessTable {
    /// True while `pid` exists and is not a zombie (one that has ended but not been reaped
    /// is gone for every purpose a test has).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = stat(of: pid) else { return false }
        return stat.state != "Z" && stat.state != "X"
    }

    /// The processes whose parent is `pid`.
    public static func children(of pid: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { Int32($0) }.filter { child in stat(of: child)?.parent == pid }
    }

    /// The command line, its arguments separated by spaces; empty when the process is gone.
    public static func commandLine(of pid: Int32) -> String {
        guard let bytes = try? FileSystem.contents(of: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: Data(bytes).map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// State and parent from `/proc/PID/stat`, whose second field (the name, in
    /// parentheses) may itself hold spaces and parentheses: the fields after the last `)`.
    private static func stat(of pid: Int32) -> (state: Character, parent: Int32)? {
        guard let bytes = try? FileSystem.contents(of: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: Data(bytes), as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count >= 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return (state, parent)
    }
}
