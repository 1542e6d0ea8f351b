import CFuse
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

/// The table of C callbacks libfuse calls for each request (the low-level, inode-based API).
///
/// Each callback copies its arguments out of libfuse's memory, then hands the request to
/// ``FuseContext/serve(_:_:_:)``; the reply comes from the task that serves it. Operations
/// left out of the table get ENOSYS from libfuse.
enum FuseOperations {
    static func table() -> fuse_lowlevel_ops {
        var operations = fuse_lowlevel_ops()
        operations.`init` = { _, connection in
            guard let connection else { return }
            // An open with O_TRUNC comes as one open (which stages an empty file) instead of
            // a truncate (an upload of an empty version) followed by an open.
            if connection.pointee.capable & UInt32(FUSE_CAP_ATOMIC_O_TRUNC) != 0 {
                connection.pointee.want |= UInt32(FUSE_CAP_ATOMIC_O_TRUNC)
            }
        }
        operations.lookup = { raw, parent, name in
            guard let raw, let name else { return }
            let request = FuseRequest(raw)
            let context = FuseContext.of(raw)
            let path: DFSPath
            do { path = try context.service.path(of: name, in: parent) } catch { return request.fail(MountErrno.of(error)) }
            // What its folder's snapshot knows is answered here, on the reader thread: no
            // task to wait for (see MountService.knownFromSnapshot).
            do {
                if let known = try context.service.knownFromSnapshot(path) {
                    let service = context.service
                    return request.entry(service.shown(known), timeouts: service.options.timeouts, owner: service.owner)
                }
            } catch {
                return request.fail(MountErrno.of(error))
            }
            context.serve(request, "lookup") { service in
                request.entry(service.shown(try await service.lookup(path)), timeouts: service.options.timeouts, owner: service.owner)
            }
        }
        operations.forget = { raw, inode, count in
            guard let raw else { return }
            FuseContext.of(raw).service.forget(inode, count: Int(count))
            fuse_reply_none(raw)
        }
        operations.forget_multi = { raw, count, forgets in
            guard let raw else { return }
            let service = FuseContext.of(raw).service
            for index in 0..<count {
                if let forget = forgets?[index] { service.forget(forget.ino, count: Int(forget.nlookup)) }
            }
            fuse_reply_none(raw)
        }
        operations.getattr = { raw, inode, _ in
            guard let raw else { return }
            let request = FuseRequest(raw)
            let context = FuseContext.of(raw)
            // A folder's attributes kept from a moment ago are answered here (the kernel asks
            // for a folder's after every change in it, to check permissions).
            if let kept = context.service.keptFolderAttributes(of: inode) {
                return request.attributes(kept, timeouts: context.service.options.timeouts, owner: context.service.owner)
            }
            context.serve(request, "getattr") { service in
                request.attributes(service.shown(try await service.attributes(of: inode)), timeouts: service.options.timeouts, owner: service.owner)
            }
        }
        operations.setattr = { raw, inode, attributes, fields, info in
            guard let raw else { return }
            let request = FuseRequest(raw)
            let size = fields & FUSE_SET_ATTR_SIZE != 0 ? attributes.map { Int($0.pointee.st_size) } : nil
            let changes = attributes.map { FuseOperations.changes($0.pointee, fields: fields) } ?? PendingAttributes()
            let handle = info?.pointee.fh
            FuseContext.of(raw).serve(request, "setattr") { service in
                let result = try await service.setAttributes(inode, size: size, changes: changes, handle: handle)
                request.attributes(service.shown(result), timeouts: service.options.timeouts, owner: service.owner)
            }
        }
        operations.readlink = { raw, inode in
            guard let raw else { return }
            let request = FuseRequest(raw)
            FuseContext.of(raw).serve(request, "readlink") { service in
                request.link(try await service.linkTarget(inode))
            }
        }
        operations.statfs = { raw, _ in
            guard let raw else { return }
            let request = FuseRequest(raw)
            FuseContext.of(raw).serve(request, "statfs") { service in
                request.statfs(try await service.fileSystemStatus())
            }
        }
        addNamespaceOperations(&operations)
        addFileOperations(&operations)
        addFolderOperations(&operations)
        return operations
    }

    /// mkdir, symlink, unlink, rmdir, rename, and the hard links the cluster cannot store.
    private static func addNamespaceOperations(_ operations: inout fuse_lowlevel_ops) {
        operations.mkdir = { raw, parent, name, mode in
            guard let raw else { return }
            let caller = FuseOperations.caller(raw)
            FuseOperations.named(raw, parent, name, "mkdir") { service, path, request in
                let attributes = try await service.makeFolder(path, mode: Int(mode), owner: caller)
                request.entry(attributes, timeouts: service.options.timeouts, owner: service.owner)
            }
        }
        operations.symlink = { raw, target, parent, name in
            guard let raw, let target else { return }
            let caller = FuseOperations.caller(raw)
            let targetText = String(cString: target)
            FuseOperations.named(raw, parent, name, "symlink") { service, path, request in
                let attributes = try await service.makeLink(path, target: targetText, owner: caller)
                request.entry(attributes, timeouts: service.options.timeouts, owner: service.owner)
            }
        }
        operations.unlink = { raw, parent, name in
            FuseOperations.named(raw, parent, name, "unlink") { service, path, request in
                try await service.removeFile(path)
                request.ok()
            }
        }
        operations.rmdir = { raw, parent, name in
            FuseOperations.named(raw, parent, name, "rmdir") { service, path, request in
                try await service.removeFolder(path)
                request.ok()
            }
        }
        operations.rename = { raw, parent, name, newParent, newName, flags in
            guard let raw, let name, let newName else { return }
            let request = FuseRequest(raw)
            let context = FuseContext.of(raw)
            let source: DFSPath
            let target: DFSPath
            do {
                source = try context.service.path(of: name, in: parent)
                target = try context.service.path(of: newName, in: newParent)
            } catch {
                return request.fail(MountErrno.of(error))
            }
            context.serve(request, "rename") { service in
                try await service.rename(source, to: target, flags: flags)
                request.ok()
            }
        }
        // The cluster has no hard links: say so at once rather than ENOSYS.
        operations.link = { raw, _, _, _ in
            if let raw { fuse_reply_err(raw, EPERM) }
        }
    }

    /// The user and group of the process that made `raw`, which own what it creates.
    static func caller(_ raw: fuse_req_t) -> (uid: Int, gid: Int) {
        guard let context = fuse_req_ctx(raw) else { return (Int(getuid()), Int(getgid())) }
        return (Int(context.pointee.uid), Int(context.pointee.gid))
    }

    /// The mode, owner, group and modification time a setattr asks for; its atime alone is
    /// not kept (the cluster stores one time).
    static func changes(_ stat: Glibc.stat, fields: Int32) -> PendingAttributes {
        var changes = PendingAttributes()
        if fields & FUSE_SET_ATTR_MODE != 0 { changes.mode = Int(stat.st_mode & 0o7777) }
        if fields & FUSE_SET_ATTR_UID != 0 { changes.uid = Int(stat.st_uid) }
        if fields & FUSE_SET_ATTR_GID != 0 { changes.gid = Int(stat.st_gid) }
        if fields & FUSE_SET_ATTR_MTIME_NOW != 0 {
            changes.mtime = WriteHandle.now()
        } else if fields & FUSE_SET_ATTR_MTIME != 0 {
            changes.mtime = Double(stat.st_mtim.tv_sec) + Double(stat.st_mtim.tv_nsec) / 1e9
        }
        return changes
    }

    /// A request naming `name` in the folder `parent`.
    fileprivate static func named(
        _ raw: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ what: StaticString,
        _ body: @escaping @Sendable (MountService, DFSPath, FuseRequest) async throws -> Void
    ) {
        guard let raw, let name else { return }
        let request = FuseRequest(raw)
        let context = FuseContext.of(raw)
        let path: DFSPath
        do { path = try context.service.path(of: name, in: parent) } catch { return request.fail(MountErrno.of(error)) }
        context.serve(request, what) { service in try await body(service, path, request) }
    }
}
