import CFuse
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

extension FuseOperations {
    /// opendir, readdir, readdirplus, releasedir.
    static func addFolderOperations(_ operations: inout fuse_lowlevel_ops) {
        operations.opendir = { raw, inode, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let flags = info.pointee.flags
            FuseContext.of(raw).serve(request, "opendir") { service in
                request.open(handle: try await service.openFolder(inode), flags: flags)
            }
        }
        operations.readdir = { raw, inode, size, offset, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            FuseContext.of(raw).serve(request, "readdir") { service in
                request.data(try await FuseOperations.listing(service, request, folder: inode, handle: handle, size: size, offset: Int(offset), plus: false))
            }
        }
        operations.readdirplus = { raw, inode, size, offset, info in
            guard let raw, let info else { return }
            let request = FuseRequest(raw)
            let handle = info.pointee.fh
            FuseContext.of(raw).serve(request, "readdirplus") { service in
                request.data(try await FuseOperations.listing(service, request, folder: inode, handle: handle, size: size, offset: Int(offset), plus: true))
            }
        }
        operations.releasedir = { raw, _, info in
            guard let raw, let info else { return }
            FuseContext.of(raw).service.releaseFolder(info.pointee.fh)
            fuse_reply_err(raw, 0)
        }
    }

    /// Packs entries from `offset` into at most `size` bytes, as readdir wants them. With
    /// `plus`, each entry carries its attributes and counts as a lookup of its inode, so an
    /// inode is remembered only for an entry that fits.
    private static func listing(
        _ service: MountService, _ request: FuseRequest, folder: UInt64, handle: UInt64, size: Int, offset: Int, plus: Bool
    ) async throws -> [UInt8] {
        let (path, entries) = try await service.folderEntries(handle, from: offset)
        var buffer = [UInt8](repeating: 0, count: size)
        var used = 0
        for entry in entries {
            let fitted: Bool = buffer.withUnsafeMutableBytes { bytes in
                let base = bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + used
                let room = size - used
                return entry.name.withCString { name in
                    let needed =
                        plus
                        ? fuse_add_direntry_plus(request.raw, nil, 0, name, nil, 0)
                        : fuse_add_direntry(request.raw, nil, 0, name, nil, 0)
                    guard needed <= room else { return false }
                    if plus {
                        var parameters = entryParameters(service, entry, folder: folder, in: path)
                        used += fuse_add_direntry_plus(request.raw, base, room, name, &parameters, off_t(entry.nextOffset))
                    } else {
                        var stat = Glibc.stat()
                        let known = service.inodes.withLock { table in (try? path.appending(entry.name)).flatMap { table.inode(of: $0) } }
                        stat.st_ino = ino_t(known ?? unknownInode)
                        stat.st_mode = entry.info.map { Attributes.fileType($0.type) } ?? S_IFDIR
                        used += fuse_add_direntry(request.raw, base, room, name, &stat, off_t(entry.nextOffset))
                    }
                    return true
                }
            }
            if !fitted { break }
        }
        return Array(buffer[0..<used])
    }

    /// The inode number a plain readdir shows for a name the kernel has not looked up yet:
    /// any number will do (the kernel looks the name up before using it), but 0 would make
    /// some programs skip the entry.
    private static let unknownInode: UInt64 = 0xFFFF_FFFF

    private static func entryParameters(_ service: MountService, _ entry: DirectoryEntry, folder: UInt64, in path: DFSPath) -> fuse_entry_param {
        guard let info = entry.info, let child = try? path.appending(entry.name) else {
            // `.` and `..`: the kernel takes neither as a lookup.
            var parameters = fuse_entry_param()
            parameters.attr.st_ino = ino_t(folder)
            parameters.attr.st_mode = S_IFDIR
            return parameters
        }
        let inode = service.inodes.withLock { $0.remember(child) }
        return FuseRequest.entryParameters(
            service.shown(Attributes(inode: inode, info)), timeouts: service.options.timeouts, owner: service.owner)
    }
}
