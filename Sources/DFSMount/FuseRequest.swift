import CFuse
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

/// One request from the kernel, answered exactly once from whichever thread finishes it
/// (libfuse's `fuse_reply_*` calls are thread-safe). A reply to a mount that is gone fails
/// inside libfuse and is dropped, which is all there is to do.
struct FuseRequest: @unchecked Sendable {
    let raw: fuse_req_t

    init(_ raw: fuse_req_t) { self.raw = raw }

    func fail(_ errno: Int32) {
        fuse_reply_err(raw, errno)
    }

    /// Success with nothing to say (mkdir's siblings: unlink, rmdir, rename, flush, fsync).
    func ok() {
        fuse_reply_err(raw, 0)
    }

    func entry(_ attributes: Attributes, timeouts: MountTimeouts, owner: (uid: uid_t, gid: gid_t)) {
        var parameters = Self.entryParameters(attributes, timeouts: timeouts, owner: owner)
        fuse_reply_entry(raw, &parameters)
    }

    func attributes(_ attributes: Attributes, timeouts: MountTimeouts, owner: (uid: uid_t, gid: gid_t)) {
        var stat = attributes.stat(owner: owner)
        fuse_reply_attr(raw, &stat, timeouts.attributeSeconds)
    }

    func open(handle: UInt64, flags: Int32) {
        var info = fuse_file_info()
        info.flags = flags
        info.fh = handle
        fuse_reply_open(raw, &info)
    }

    func create(_ attributes: Attributes, handle: UInt64, flags: Int32, timeouts: MountTimeouts, owner: (uid: uid_t, gid: gid_t)) {
        var parameters = Self.entryParameters(attributes, timeouts: timeouts, owner: owner)
        var info = fuse_file_info()
        info.flags = flags
        info.fh = handle
        fuse_reply_create(raw, &parameters, &info)
    }

    func written(_ count: Int) {
        fuse_reply_write(raw, count)
    }

    func data(_ bytes: [UInt8]) {
        data(bytes[...])
    }

    /// A read's bytes, straight from where they are (a slice of a cached piece): libfuse
    /// writes them to the kernel from there.
    func data(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { buffer in
            _ = fuse_reply_buf(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
    }

    func link(_ target: String) {
        fuse_reply_readlink(raw, target)
    }

    func statfs(_ stat: statvfs) {
        var stat = stat
        fuse_reply_statfs(raw, &stat)
    }

    func none() {
        fuse_reply_none(raw)
    }

    static func entryParameters(_ attributes: Attributes, timeouts: MountTimeouts, owner: (uid: uid_t, gid: gid_t)) -> fuse_entry_param {
        var parameters = fuse_entry_param()
        parameters.ino = attributes.inode
        parameters.generation = 1
        parameters.attr = attributes.stat(owner: owner)
        parameters.attr_timeout = timeouts.attributeSeconds
        parameters.entry_timeout = timeouts.entrySeconds
        return parameters
    }
}
