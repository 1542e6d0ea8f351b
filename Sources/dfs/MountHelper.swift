import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `dfs` called as a mount helper, the way mount(8) calls one for an /etc/fstab line:
///
/// - `dfs#HOST:PORT:/PATH /mnt/dfs fuse OPTIONS 0 0`: mount(8) runs mount.fuse3, which runs
///   `dfs HOST:PORT:/PATH /mnt/dfs -o OPTIONS`;
/// - `HOST:PORT:/PATH /mnt/dfs dfs OPTIONS 0 0`: mount(8) runs `/sbin/mount.dfs` (a link to
///   `dfs`) with `HOST:PORT:/PATH /mnt/dfs [-sfnv] [-o OPTIONS]`.
///
/// Both become `dfs mount --daemon ...`: a helper must return once the mount is ready.
/// Options with a value name `dfs mount`'s flags (`cache_size=10GiB`, `secret_file=PATH`,
/// with `_` or `-`); the rest are mount options for `-o`.
enum MountHelper {
    /// The options that take a value, as `dfs mount` names their flags.
    static let valueOptions: Set<String> = [
        "secret-file", "cache-size", "cache-dir", "attr-timeout", "entry-timeout", "replication", "block-size", "retry-for",
    ]

    /// The arguments for `dfs` (without the program's name) when `arguments` (with it) is a
    /// helper's call; nil when it is an ordinary command line.
    static func translate(_ arguments: [String]) -> [String]? {
        guard let program = arguments.first else { return nil }
        let rest = Array(arguments.dropFirst())
        let calledAsHelper = URL(fileURLWithPath: program).lastPathComponent == "mount.dfs"
        guard calledAsHelper || (rest.count >= 2 && !rest[0].hasPrefix("-") && (try? RemoteLocation.parse(rest[0])) ?? nil != nil) else {
            return nil
        }
        var positional: [String] = []
        var options: [String] = []
        var fake = false
        var index = 0
        while index < rest.count {
            let argument = rest[index]
            switch argument {
            case "-o":
                if index + 1 < rest.count { options += rest[index + 1].split(separator: ",").map(String.init) }
                index += 1
            case "-t", "-N":
                index += 1
            case "-f":
                fake = true
            case "-s", "-n", "-v":
                break
            default:
                positional.append(argument)
            }
            index += 1
        }
        // mount -f: pretend, for mount(8)'s bookkeeping; nothing to do.
        if fake { exit(0) }
        var translated = ["mount", "--daemon"]
        var mountOptions: [String] = []
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0].replacingOccurrences(of: "_", with: "-")
            if parts.count == 2, valueOptions.contains(name) {
                translated += ["--\(name)", parts[1]]
            } else {
                mountOptions.append(option)
            }
        }
        if !mountOptions.isEmpty { translated += ["-o", mountOptions.joined(separator: ",")] }
        return translated + positional
    }
}
