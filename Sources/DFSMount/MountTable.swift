import DFSCore
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The system's mounts, as far as `dfs mount` needs them: whether a folder is a mount, a
/// stale one, and unmounting.
public enum MountTable {
    /// True when `path` is a mountpoint in this process's mount namespace.
    public static func isMounted(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.path
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            // Field 5 is the mountpoint, with spaces and backslashes octal-escaped.
            if fields.count > 4, unescape(String(fields[4])) == resolved { return true }
        }
        return false
    }

    /// The device (`major:minor`) of the mount on `path`, the topmost if several are
    /// stacked there; nil when `path` is not a mountpoint.
    static func device(of path: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.path
        var device: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            // Field 3 is the device, field 5 the mountpoint.
            if fields.count > 4, unescape(String(fields[4])) == resolved { device = String(fields[2]) }
        }
        return device
    }

    /// True when `path` is a FUSE mount whose server is gone: opening it fails with ENOTCONN
    /// ("Transport endpoint is not connected").
    ///
    /// An open, not a stat: the kernel answers stat(2) from the attributes it holds for up to
    /// the attribute timeout without asking the server, and with default_permissions every
    /// path walk through the mount refreshes the root's, so a mount killed a moment ago would
    /// pass for a live one. An opendir always goes to the server.
    public static func isStale(_ path: String) -> Bool {
        let folder = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            close(folder)
            return false
        }
        return errno == ENOTCONN
    }

    /// Unmounts `path`: umount2(2) as root, else `fusermount3 -u` (which may unmount FUSE
    /// mounts of the calling user). Lazily (MNT_DETACH, `-z`) when asked, or when a plain
    /// unmount finds the mount busy. Failures are left to the caller to notice.
    @discardableResult
    public static func unmount(_ path: String, lazily: Bool) -> Bool {
        if geteuid() == 0 {
            if !lazily, umount2(path, 0) == 0 { return true }
            return umount2(path, Int32(MNT_DETACH)) == 0
        }
        if !lazily, runFusermount(["-u", "-q", path]) { return true }
        return runFusermount(["-u", "-z", "-q", path])
    }

    private static func runFusermount(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fusermount3")
        process.arguments = arguments
        do {
            try process.run()
        } catch {
            return false
        }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
